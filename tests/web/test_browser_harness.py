"""The component macros, the theme's contrast, and the browser harness itself (Chromium + axe
under the strict Content-Security-Policy)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader
from playwright.sync_api import Browser

from tests.web.browser import (
    STATIC_DIR,
    STRICT_CSP,
    axe_serious,
    chromium,
    format_violations,
    serve,
    watch_csp,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "hub" / "web" / "templates"


def environment(**pages: str) -> Environment:
    return Environment(
        loader=ChoiceLoader([DictLoader(pages), FileSystemLoader(TEMPLATES)]), autoescape=True
    )


def render(source: str, **context: Any) -> str:
    env = environment()
    return env.from_string('{% import "components.html" as c %}' + source).render(**context)


# ------------------------------------------------------------------------------ macros ---


def test_text_field_ties_label_hint_and_error_to_the_input() -> None:
    html = render(
        '{{ c.text_field("person.name", "Naam", value=v, error="Vul een naam in", '
        'hint="Zoals in de BRP", required=True, maxlength=80) }}',
        v="<script>alert(1)</script>",
    )
    assert '<label class="utrecht-form-label" for="field-person-name">Naam' in html
    assert 'id="field-person-name"' in html and 'name="person.name"' in html
    assert 'aria-describedby="field-person-name-hint field-person-name-error"' in html
    assert 'aria-invalid="true"' in html and 'aria-required="true"' in html
    assert '<span class="vhhub-visually-hidden">Fout: </span>Vul een naam in' in html
    assert "(verplicht)" in html and 'maxlength="80"' in html
    assert "utrecht-textbox--invalid" in html and "utrecht-form-field--invalid" in html
    assert " required" not in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_plain_field_has_no_error_state() -> None:
    html = render('{{ c.date_field("born_on", "Geboortedatum") }}')
    assert 'type="date"' in html and 'id="field-born-on"' not in html  # underscores stay
    assert 'id="field-born_on"' in html
    assert "aria-invalid" not in html and "aria-describedby" not in html
    assert "(verplicht)" not in html and "Fout:" not in html


def test_ids_replace_dots_and_brackets() -> None:
    assert render('{{ c.field_id("a.b[0].c") }}') == "field-a-b-0--c"
    html = render('{{ c.select_field("x[1]", "X", [("1", "een"), ("2", "<twee>")], value=2) }}')
    assert 'id="field-x-1"' in html
    assert '<option value="2" selected>&lt;twee&gt;</option>' in html


def test_other_fields() -> None:
    html = render(
        '{{ c.textarea_field("note", "Notitie", value="<b>", rows=6, error="Te lang") }}'
        '{{ c.checkbox_field("agree", "Akkoord", checked=True, hint="Lees eerst") }}'
        '{{ c.radio_group("level", "Niveau", [("summary", "Samenvatting"), ("full", "Volledig")], '
        'value="full", required=True, error="Kies een niveau") }}'
    )
    assert 'rows="6"' in html and "&lt;b&gt;</textarea>" in html
    assert 'class="utrecht-checkbox utrecht-checkbox--html-input"' in html
    assert 'aria-describedby="field-agree-hint"' in html and " checked" in html
    assert 'role="radiogroup"' in html and "<legend" in html
    assert 'id="field-level"' in html and 'id="field-level-2"' in html
    assert 'value="full" checked' in html


def test_error_summary() -> None:
    assert render("{{ c.error_summary([]) }}").strip() == ""

    class Problem:
        field = "field-name"
        message = "Vul <script> in"

    html = render(
        "{{ c.error_summary(errors) }}",
        errors=[Problem(), {"field": None, "message": "Probeer het opnieuw"}],
    )
    assert 'id="error-summary"' in html and 'role="alert"' in html and 'tabindex="-1"' in html
    assert "Er ging iets mis" in html
    assert (
        '<a class="utrecht-link utrecht-link--html-a" href="#field-name">Vul &lt;script&gt; in</a>'
        in html
    )
    assert "Probeer het opnieuw" in html


def test_button_variants_and_escaped_attributes() -> None:
    html = render(
        '{{ c.button("Opslaan") }}'
        '{{ c.button("Annuleren", type="button", variant="secondary") }}'
        '{{ c.button("Meer", variant="subtle", name="actie", value="<meer>", '
        'attrs={"hx-post": "/x?a=1&b=2", "hx-target": "#doel"}) }}'
    )
    assert (
        'class="utrecht-button utrecht-button--primary-action utrecht-button--submit" type="submit"'
        in html
    )
    assert "utrecht-button--secondary-action" in html and 'type="button"' in html
    assert 'name="actie" value="&lt;meer&gt;"' in html
    assert 'hx-post="/x?a=1&amp;b=2"' in html and 'hx-target="#doel"' in html


def test_badges_alert_csrf_and_table() -> None:
    words = {
        "none": "niet gedeeld",
        "existence": "alleen bestaan",
        "summary": "samenvatting",
        "full": "volledig",
    }
    for level, word in words.items():
        html = render("{{ c.level_badge(level) }}", level=level)
        assert f"vhhub-level--{level}" in html and word in html
    assert "vhhub-purpose" in render('{{ c.purpose_badge("Zorg & veiligheid") }}')
    assert "Zorg &amp; veiligheid" in render('{{ c.purpose_badge("Zorg & veiligheid") }}')
    for kind in ("info", "ok", "warning", "error"):
        assert f"utrecht-alert--{kind}" in render("{{ c.alert('x', kind=k) }}", k=kind)
    assert render("{{ c.csrf_field(t) }}", t='a"<b') == (
        '<input type="hidden" name="csrf_token" value="a&#34;&lt;b">'
    )
    html = render(
        '{{ c.data_table("Casussen", ["Naam", "Niveau"], [["<i>x</i>", c.level_badge("full")]]) }}'
    )
    assert '<caption class="utrecht-table__caption">Casussen</caption>' in html
    assert html.count('scope="col"') == 2
    assert "&lt;i&gt;x&lt;/i&gt;" in html and "vhhub-level--full" in html


def test_no_safe_filter_in_templates() -> None:
    for path in TEMPLATES.rglob("*.html"):
        code = re.sub(r"\{#.*?#\}", "", path.read_text(), flags=re.DOTALL)
        assert "|safe" not in code.replace(" ", ""), path


# ------------------------------------------------------------------------------ theme ----


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_theme_colour_pairs_meet_wcag_aa() -> None:
    css = (STATIC_DIR / "vhhub.css").read_text()
    tokens: dict[str, str] = {}
    for name, value in re.findall(r"--vhhub-([a-z0-9-]+):\s*(#[0-9a-f]{6});", css):
        tokens.setdefault(name, value)  # the first: the screen theme, not the print overrides
    text_pairs = [
        ("color-text", "color-background"),
        ("color-text", "color-surface"),
        ("color-text-muted", "color-background"),
        ("color-text-muted", "color-surface"),
        ("color-link", "color-background"),
        ("color-link-visited", "color-background"),
        ("color-on-primary", "color-primary"),
        ("color-on-primary", "color-primary-hover"),
        ("color-error", "color-background"),
        ("color-error", "color-error-background"),
        ("color-text", "color-info-background"),
        ("color-text", "color-ok-background"),
        ("color-text", "color-warning-background"),
        ("color-text", "color-error-background"),
        ("color-link", "color-info-background"),
        ("color-text", "color-highlight"),
        ("color-demo-text", "color-demo"),
        ("level-none-color", "level-none-background"),
        ("level-existence-color", "level-existence-background"),
        ("level-summary-color", "level-summary-background"),
        ("level-full-color", "level-full-background"),
        ("purpose-color", "purpose-background"),
    ]
    ui_pairs = [
        ("color-border", "color-background"),
        ("color-ok", "color-background"),
        ("color-warning", "color-background"),
        ("color-primary", "color-background"),
    ]
    low = [(a, b, round(_contrast(tokens[a], tokens[b]), 2)) for a, b in text_pairs]
    assert [pair for pair in low if pair[2] < 4.5] == []
    ui = [(a, b, round(_contrast(tokens[a], tokens[b]), 2)) for a, b in ui_pairs]
    assert [pair for pair in ui if pair[2] < 3] == []


def test_theme_declares_the_utrecht_tokens() -> None:
    css = re.sub(r"/\*.*?\*/", "", (STATIC_DIR / "vhhub.css").read_text(), flags=re.DOTALL)
    for prefix in (
        "document",
        "heading-1",
        "heading-2",
        "heading-3",
        "paragraph",
        "link-visited",
        "link-focus",
        "button-primary-action",
        "button-secondary-action",
        "form-field",
        "form-label",
        "textbox",
        "textarea",
        "select",
        "checkbox",
        "radio-button",
        "table",
        "alert-info",
        "alert-warning",
        "alert-error",
        "alert-ok",
        "badge",
        "status-badge",
        "page",
        "page-header",
        "page-footer",
        "skip-link",
        "focus-outline",
    ):
        assert f"--utrecht-{prefix}-" in css, prefix
    assert "url(" not in css and "@import" not in css and "@font-face" not in css
    assert "@media print" in css and "@media (max-width" in css


# ----------------------------------------------------------------------------- browser ---

BAD_PAGE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Fout</title></head>
<body><main><h1>Plaatje</h1><img src=x></main></body></html>
"""

LAYOUT = """<!doctype html>
<html lang="nl" class="vhhub-theme">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="htmx-config" content='{"includeIndicatorStyles": false, "allowEval": false, "allowScriptTags": false, "selfRequestsOnly": true}'>
  <title>Casussen - vhhub</title>
  <link rel="stylesheet" href="/static/vendor/utrecht/component-library-css/index.css">
  <link rel="stylesheet" href="/static/vhhub.css">
  <script src="/static/vendor/htmx.org/htmx.min.js" defer></script>
</head>
<body class="utrecht-document">
  <a class="utrecht-skip-link utrecht-skip-link--visible-on-focus vhhub-skip-link" href="#inhoud">Naar de inhoud</a>
  <div class="vhhub-demo-banner" role="note">Demo-omgeving: alle gegevens zijn verzonnen.</div>
  <header class="vhhub-header">
    <div class="vhhub-header__inner">
      <a class="vhhub-app-name" href="/">vhhub</a>
      <p class="vhhub-user"><span>Ingelogd als A. de Vries</span>
        <span class="vhhub-user__organisation">Zorg- en Veiligheidshuis Midden-Nederland</span></p>
    </div>
  </header>
  <nav class="vhhub-nav" aria-label="Hoofdmenu">
    <div class="vhhub-nav__inner">
      <ul class="vhhub-nav__list">
        <li><a class="vhhub-nav__link" href="/" aria-current="page">Casussen</a></li>
        <li><a class="vhhub-nav__link" href="/overleggen">Overleggen</a></li>
        <li><a class="vhhub-nav__link" href="/logboek">Inzage in het logboek</a></li>
      </ul>
    </div>
  </nav>
  <main class="vhhub-main" id="inhoud" tabindex="-1">
    <div class="vhhub-content">
      <h1 class="utrecht-heading-1">Casussen</h1>
      {{ c.alert("De casus is opgeslagen.", kind="ok") }}
      {{ c.alert("Deze casus is over drie dagen verlopen.", kind="warning") }}
      <p class="utrecht-paragraph">Doel: {{ c.purpose_badge("Gezamenlijke aanpak bij huiselijk geweld") }} {{ c.new_marker() }}</p>
      {{ c.data_table("Lopende casussen", headers, rows) }}
      <h2 class="utrecht-heading-2">Nieuwe casus</h2>
      <form method="post" action="/casussen" novalidate>
        {{ c.csrf_field("token-123") }}
        {{ c.error_summary(errors) }}
        {{ c.text_field("subject.name", "Naam betrokkene", error="Vul de naam in.", required=True, autocomplete="off") }}
        {{ c.date_field("subject.born_on", "Geboortedatum", hint="Bijvoorbeeld 31-12-1990") }}
        {{ c.select_field("purpose", "Doel", [("", "Kies een doel"), ("hg", "Huiselijk geweld"), ("zc", "Zorgmijder")], required=True) }}
        {{ c.textarea_field("note", "Toelichting", hint="Alleen wat nodig is.", maxlength=2000) }}
        {{ c.radio_group("level", "Niveau van delen", [("existence", "Alleen bestaan"), ("summary", "Samenvatting"), ("full", "Volledig")], value="summary", required=True) }}
        {{ c.checkbox_field("consent", "De betrokkene is ingelicht") }}
        <div class="utrecht-button-group">
          {{ c.button("Opslaan") }}
          {{ c.button("Annuleren", type="button", variant="secondary") }}
          {{ c.button("Meer laden", type="button", variant="subtle", attrs={"hx-get": "/fragment", "hx-target": "#fragment", "hx-swap": "innerHTML"}) }}
        </div>
      </form>
      <div id="fragment"></div>
    </div>
  </main>
  <footer class="vhhub-footer"><div class="vhhub-footer__inner"><p class="utrecht-paragraph">vhhub</p></div></footer>
</body>
</html>
"""  # noqa: E501

FRAGMENT = '{{ c.alert("Geladen met htmx.", kind="info") }} {{ c.level_badge("full") }}'


def layout_pages() -> dict[str, str]:
    env = environment(layout=LAYOUT, fragment=FRAGMENT)
    c_import = '{% import "components.html" as c %}'
    long_name = "Bartholomeus-Wilhelmina van Oostervelde-Ten Brinkhorst"
    context = {
        "headers": [
            "Naam",
            "Doel",
            "Niveau",
            "Fase",
            "Laatste wijziging",
            "Behandelaar",
            "Overleg",
        ],
        "rows": [
            [
                long_name,
                "Huiselijk geweld",
                "volledig",
                "Analyse",
                "2026-12-01 14:03",
                "Team West",
                "Ja",
            ],
            [
                "J. Jansen",
                "Zorgmijder",
                "samenvatting",
                "Aanmelding",
                "2026-11-28 09:12",
                "Team Oost",
                "Nee",
            ],
        ],
        "errors": [{"field": "field-subject-name", "message": "Vul de naam in."}],
    }
    return {
        "/": env.from_string(c_import + env.loader.get_source(env, "layout")[0]).render(**context),  # type: ignore[union-attr]
        "/bad": BAD_PAGE,
        "/fragment": env.from_string(c_import + FRAGMENT).render(),
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(layout_pages()) as url:
        yield url


def test_axe_reports_a_missing_alt_as_critical_under_the_strict_csp(
    browser: Browser, base_url: str
) -> None:
    page = browser.new_page()
    try:
        response = page.goto(base_url + "/bad")
        assert response is not None
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        violations = axe_serious(page)
        image_alt = [v for v in violations if v["id"] == "image-alt"]
        assert image_alt, format_violations(violations)
        assert image_alt[0]["impact"] == "critical"
        assert image_alt[0]["targets"] == ["img"]
        # axe ran without adding a <script> element (the CSP would have refused it)
        assert page.evaluate("document.scripts.length") == 0
    finally:
        page.close()


@pytest.mark.parametrize("width", [360, 1440])
def test_the_layout_is_accessible_csp_clean_and_fits(
    browser: Browser, base_url: str, width: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    csp = watch_csp(page)
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    try:
        page.goto(base_url + "/", wait_until="load")
        assert page.evaluate("typeof htmx === 'object' && htmx.version").startswith("2.")
        # the stylesheets applied: the theme's header colour, Utrecht's button class
        header_bg = page.eval_on_selector(
            ".vhhub-header", "e => getComputedStyle(e).backgroundColor"
        )
        assert header_bg == "rgb(21, 66, 115)"
        assert (
            page.eval_on_selector(
                ".utrecht-button--primary-action", "e => getComputedStyle(e).backgroundColor"
            )
            == "rgb(21, 66, 115)"
        )
        violations = axe_serious(page)
        assert violations == [], format_violations(violations)
        scroll_width, inner_width = page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert scroll_width <= inner_width
        if width == 360:  # the wide table scrolls inside its own box instead
            inner = page.eval_on_selector(
                ".vhhub-table-scroll", "e => e.scrollWidth > e.clientWidth"
            )
            assert inner is True
        assert csp == [] and failed == []
    finally:
        page.close()


def test_the_csp_watcher_sees_what_the_policy_refuses(browser: Browser) -> None:
    # Without the htmx-config meta tag htmx injects a <style> element; with an inline style and
    # an inline script besides, the strict policy refuses all three and the watcher says so.
    page_html = (
        LAYOUT.replace('<meta name="htmx-config"', '<meta name="x-not-htmx-config"')
        .replace('<div id="fragment"></div>', '<div id="fragment" style="color: red"></div>')
        .replace("</body>", "<script>document.title = 'x'</script></body>")
    )
    env = environment(page=page_html)
    html = env.from_string('{% import "components.html" as c %}' + page_html).render(
        headers=[], rows=[], errors=[]
    )
    with serve({"/": html}) as url:
        page = browser.new_page()
        csp = watch_csp(page)
        try:
            page.goto(url + "/", wait_until="load")
            page.wait_for_function("typeof htmx === 'object'")
            page.wait_for_timeout(200)
            assert len(csp) >= 3, csp
            assert page.title() == "Casussen - vhhub"  # the inline script did not run
        finally:
            page.close()


def test_focus_is_visible_and_the_error_summary_takes_focus(
    browser: Browser, base_url: str
) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    try:
        page.goto(base_url + "/")
        assert page.evaluate("document.activeElement.id") == "error-summary"
        page.focus("#field-subject-name")
        page.keyboard.press("Tab")
        page.keyboard.press("Shift+Tab")
        outline = page.evaluate(
            "(() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()"
        )
        assert outline[0] != "none" and outline[1] >= 2
    finally:
        page.close()


def test_htmx_swaps_under_a_csp_that_allows_connect_to_self(browser: Browser) -> None:
    # the web application's own policy: htmx fetches under its connect-src 'self'
    csp_policy = STRICT_CSP
    with serve(layout_pages(), csp=csp_policy) as url:
        page = browser.new_page()
        csp = watch_csp(page)
        try:
            page.goto(url + "/")
            page.click("text=Meer laden")
            page.wait_for_selector("#fragment .utrecht-alert--info")
            assert "volledig" in page.inner_text("#fragment")
            assert csp == []
        finally:
            page.close()
