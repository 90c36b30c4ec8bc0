"""Reflex configuration, built from bilten.settings and nothing else."""

import reflex as rx
from reflex_base.plugins.sitemap import SitemapPlugin

from bilten.pwa import ScanPwaPlugin
from bilten.settings import get_settings

settings = get_settings()

config = rx.Config(
    app_name="bilten",
    redis_url=settings.redis_url,
    cors_allowed_origins=settings.allowed_origins,
    deploy_url=settings.public_url,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    disable_plugins=[SitemapPlugin],
    plugins=[
        ScanPwaPlugin(),
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="light", accent_color="indigo", gray_color="slate", radius="medium")
        ),
    ],
)
