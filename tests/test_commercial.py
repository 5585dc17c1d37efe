"""Commercial interest on sentences we wrote: offers, prices, publishers, addresses, voices."""

from __future__ import annotations

import pytest

import scoring
from scoringcases import NEUTRAL_TEXT, _score, _assert_cue

COMMERCIAL_CASES = [
    ("PRP at our clinic", "Our clinic has treated thousands of patients. Book a consultation with our surgeons today.", "direct", "book a consultation"),
    ("Hair serum", "Add to cart now and enjoy free shipping on every bottle of our serum.", "direct", "add to cart"),
    ("Laser helmet", "We offer the latest laser helmet for home use. Contact us for details.", "direct", "we offer"),
    ("Company reports topline data", "Acme Therapeutics (NASDAQ: ACME) today announced topline results. This press release contains forward-looking statements.", "direct", "forward-looking statements"),
    ("Hair drug developer shares jump", "The drugmaker said in a press release that shares rose after the company announced positive results; the CEO said sales could be large.", "indirect", "press release"),
    ("Biotech reports hair data", "BOSTON--(BUSINESS WIRE)--A biotech developing a topical hair loss drug reported data from its study.", "direct", "business wire"),
    ("University finds hair follicle switch", "Researchers at the university found a protein that wakes dormant follicles in mice, the university news office said. Story Source: Materials provided by the university. Note: content may be edited for style and length.", "indirect", "materials provided by"),
    ("Research news", "Dermatologists at a public hospital reviewed the evidence on hair loss treatments; none of the authors reported conflicts.", "none", ""),
]


@pytest.mark.parametrize("title,text,label,cue", COMMERCIAL_CASES, ids=[c[2] + ":" + c[0] for c in COMMERCIAL_CASES])
def test_commercial_interest(title, text, label, cue):
    s = _score(title, text)
    assert s.commercial_interest == label
    if cue:
        _assert_cue(s, "commercial_interest", cue)


def test_price_with_offer_is_direct():
    s = _score("Minoxidil foam", "Buy now: three months of minoxidil foam for $39.99. Order today and save.")
    assert s.commercial_interest == "direct"
    _assert_cue(s, "commercial_interest", "buy now")


def test_price_in_a_debunking_piece_is_not_commercial():
    s = _score(
        "Be sceptical of hair tonics",
        "The ads promise thick hair for three payments of $19.99. Snake-oil sellers have made such unverified claims for a century; be sceptical.",
    )
    assert s.commercial_interest == "none"


def test_publisher_is_one_signal():
    text = "Platelet-rich plasma is injected into the scalp to stimulate hair follicles."
    assert _score("PRP explained", text).commercial_interest == "none"
    s = _score("PRP explained", text, publisher="clinic")
    assert s.commercial_interest in ("indirect", "direct")  # a prior: it moves the label off "none"
    _assert_cue(s, "commercial_interest", "publisher: clinic")


# Service, product, company, press-office and affiliate language; sentences written for these tests.
COMMERCIAL_GENERAL_CASES = [
    ("Exosome therapy for thinning hair", "Ask about treatment packages. A free assessment with one of our specialists takes about twenty minutes.", "direct", "treatment packages"),
    ("PRP for hair loss", "Our hair restoration specialists will assess your scalp. Opening hours: Monday to Saturday, 9am to 6pm.", "direct", "opening hours"),
    ("Rosemary scalp serum", "Dermatologist-formulated with caffeine and biotin. Key ingredients: rosemary oil, peptides. Subscribe and save on every delivery.", "direct", "dermatologist-formulated"),
    ("Pipeline update", "Our lead candidate is a topical androgen receptor degrader. About Follixa Therapeutics Inc. Follixa is a clinical-stage company.", "direct", "our lead candidate"),
    ("Follicle switch found", "The findings were announced by the university press office. Media relations: contact the news service for interviews.", "indirect", "press office"),
    ("Best shampoos for thinning hair", "This post contains affiliate links: we may earn a commission at no extra cost to you when you buy through them.", "indirect", "affiliate link"),
    ("Join our alopecia study", "The investigational drug will be provided at no cost. Participants will also receive all study-related visits with a study doctor at no cost.", "direct", "at no cost"),
    ("Laser cap study", "Hair counts rose versus sham in women using the cap. The study was supported by the device manufacturer.", "indirect", "supported by the device manufacturer"),
]


@pytest.mark.parametrize(
    "title,text,label,cue", COMMERCIAL_GENERAL_CASES, ids=[c[2] + ":" + c[0] for c in COMMERCIAL_GENERAL_CASES]
)
def test_commercial_general_cues(title, text, label, cue):
    s = _score(title, text)
    assert s.commercial_interest == label
    _assert_cue(s, "commercial_interest", cue)


# The page address's general shape: (url, text, expected label, cue among the reasons).
URL_CASES = [
    ("https://example-shop.test/shop/finasteride-1mg.html", NEUTRAL_TEXT, "direct", "address: shop or product page"),
    ("https://example.test/products/hair-serum", NEUTRAL_TEXT, "direct", "address: shop or product page"),
    ("https://www.smithhairclinic.test/blog/finasteride", NEUTRAL_TEXT + " Book a consultation.", "direct", "address: clinic-like site name"),
    ("https://www.example-university.test/news-release/2026/hair-study", NEUTRAL_TEXT, "indirect", "address: press-release path"),
    ("https://www.dailyhealthnews.test/2026/finasteride-explained", NEUTRAL_TEXT, "none", ""),
    ("https://journals.example.test/products/ejournals/abstract/10.1/x", NEUTRAL_TEXT, "none", ""),
    ("https://www.example.test/clinical-trials/finasteride", NEUTRAL_TEXT, "none", ""),
]


@pytest.mark.parametrize("url,text,label,cue", URL_CASES, ids=[c[2] + ":" + c[0][8:40] for c in URL_CASES])
def test_url_shape_is_a_commercial_signal(url, text, label, cue):
    s = _score("Finasteride explained", text, url=url)
    assert s.commercial_interest == label
    if cue:
        _assert_cue(s, "commercial_interest", cue)


def test_url_signals_ignore_odd_input():
    from scoring.commercial import url_signals

    assert url_signals(None) == [] and url_signals("") == [] and url_signals(42) == []  # type: ignore[arg-type]
    assert url_signals("https://inclinicaltrials.test/hair/NCT01") == []  # "clinical" is not "clinic"


def test_independent_forum_post_is_not_commercial():
    s = _score(
        "Read the actual paper before you get excited",
        "I read the actual paper: it was done in mice. The press release turning it into a cure is the problem. Not selling anything.",
    )
    assert s.commercial_interest == "none"
    assert s.hype == "low"
