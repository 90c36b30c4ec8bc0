"""The REST API answers its errors in the caller's language, chosen by Accept-Language."""

import pytest

from bilten.i18n import translate

EXPECTED = {
    "de-DE,de;q=0.9,en;q=0.5": ("de", "E-Mail-Adresse oder Passwort ist falsch."),
    "es-ES,es;q=0.9": ("es", "El correo electrónico o la contraseña no son correctos."),
    "fr-FR,fr;q=0.9,en;q=0.8": ("fr", "L’adresse e-mail ou le mot de passe est incorrect."),
    "it-IT,it;q=0.9": ("it", "L’indirizzo email o la password non sono corretti."),
    "en;q=0.5,fr;q=0.9": ("fr", "L’adresse e-mail ou le mot de passe est incorrect."),  # weights decide
}


@pytest.mark.parametrize("header", EXPECTED)
def test_a_refused_login_is_explained_in_the_callers_language(client, header):
    locale, message = EXPECTED[header]
    response = client.post(
        "/api/v1/auth/login",
        json={"email": "nobody@example.org", "password": "x" * 12},
        headers={"Accept-Language": header},
    )
    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("invalid_credentials", message)
    assert message == translate("error.invalid_credentials", locale)


@pytest.mark.parametrize("locale", ["de", "es", "fr", "it"])
def test_a_validation_error_with_a_parameter_is_translated(client, locale):
    response = client.post(
        "/api/v1/auth/register",
        json={"email": "lina@example.org", "password": "short"},
        headers={"Accept-Language": locale},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    english = client.post("/api/v1/auth/register", json={"email": "lina@example.org", "password": "short"}).json()[
        "error"
    ]
    assert error["code"] == english["code"]
    assert error["message"] != english["message"] and not error["message"].startswith("error.")
    assert any(char.isdigit() for char in error["message"])  # the minimum length, filled in
