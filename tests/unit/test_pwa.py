"""The scan page's precache list: everything the page needs offline, nothing it does not."""

from pathlib import Path

from bilten.pwa import precache_files, write_service_worker

SW_TEMPLATE = 'const VERSION = "dev";\nconst PRECACHE = ["/scan/"];\nconst CACHE = `bilten-scan-${VERSION}`;\n'


def _build(root: Path) -> Path:
    (root / "scan").mkdir(parents=True)
    (root / "assets").mkdir()
    (root / "scan" / "index.html").write_text(
        '<link rel="modulepreload" href="/assets/entry-A1.js"/><link href="/assets/style-B2.css" rel="stylesheet"/>'
        '<script type="module" src="/assets/route-C3.js"></script><link href="/manifest.json" rel="manifest"/>'
    )
    files = {
        "entry-A1.js": 'import{a}from"./shared-D4.js";',
        "route-C3.js": 'const l=()=>__vitePreload(()=>import("./scanner-E5.js"),__vite__mapDeps([0,1]));'
        'const deps=["assets/scanner-E5.js","assets/ed25519-F6.js"];',
        "shared-D4.js": "export const a=1;",
        "scanner-E5.js": 'import"./shared-D4.js";',
        "ed25519-F6.js": "export{}",
        "style-B2.css": "body{}",
        "other-page-G7.js": "export{}",  # another page's chunk: not needed offline
    }
    for name, text in files.items():
        (root / "assets" / name).write_text(text)
    for name in ("zxing_reader.wasm", "manifest.json", "scan-icon-192.png"):
        (root / name).write_bytes(b"x")
    (root / "sw.js").write_text(SW_TEMPLATE)
    return root


def test_the_page_its_chunks_and_the_decoder_are_precached(tmp_path):
    files = precache_files(_build(tmp_path))
    assert files[0] == "scan/index.html"
    assert set(files) == {
        "scan/index.html",
        "assets/entry-A1.js",
        "assets/route-C3.js",
        "assets/shared-D4.js",
        "assets/scanner-E5.js",
        "assets/ed25519-F6.js",
        "assets/style-B2.css",
        "zxing_reader.wasm",
        "manifest.json",
        "scan-icon-192.png",
    }


def test_the_service_worker_gets_the_list_and_a_content_version(tmp_path):
    root = _build(tmp_path)
    urls = write_service_worker(root)
    text = (root / "sw.js").read_text()
    assert '"/scan/"' in text and '"/assets/scanner-E5.js"' in text and '"/zxing_reader.wasm"' in text
    assert "/scan/index.html" not in urls
    first_version = text.splitlines()[0]
    assert first_version != 'const VERSION = "dev";'

    (root / "assets" / "scanner-E5.js").write_text('import"./shared-D4.js";// changed')
    (root / "sw.js").write_text(SW_TEMPLATE)
    write_service_worker(root)
    assert (root / "sw.js").read_text().splitlines()[0] != first_version


def test_no_scan_page_means_no_changes(tmp_path):
    (tmp_path / "sw.js").write_text(SW_TEMPLATE)
    assert write_service_worker(tmp_path) == []
    assert (tmp_path / "sw.js").read_text() == SW_TEMPLATE
