"""sources.toml validation: every problem is one line naming file, line and fix."""

import pytest

from harvester.sources import BUNDLED_SOURCES, SourcesError, load_sources, read_opml, to_toml, write_opml

GOOD = """
[[source]]
name = "A"
url = "https://example.org/a.xml"
publisher = "journal"
every = "2h"

[[source]]
name = "B"
url = "https://example.org/b.json"
kind = "europepmc"
filter = true
"""


def write(tmp_path, text):
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_sources_are_valid_and_broad():
    sources = load_sources(BUNDLED_SOURCES)
    assert len(sources) >= 15
    publishers = {s.publisher for s in sources}
    assert {"journal", "preprint", "press", "news", "blog", "forum"} <= publishers | {"company"}
    assert any(s.filter for s in sources)
    assert all(s.url.startswith("https://") for s in sources)


def test_good_file(tmp_path):
    a, b = load_sources(write(tmp_path, GOOD))
    assert (a.name, a.publisher, a.every, a.kind, a.filter) == ("A", "journal", 7200, "feed", False)
    assert (b.kind, b.filter, b.every) == ("europepmc", True, 3600)


@pytest.mark.parametrize(
    "text, expected",
    [
        ('[[source]]\nname = "A"\nurl = "https://x"\nkind = "rss"\n', ":1: source 'A': unknown kind 'rss'"),
        ('\n\n[[source]]\nname = "A"\n', ":3: missing 'url'"),
        ('[[source]]\nname = "A"\nurl = "https://x"\nevery = "soon"\n', ":1: source 'A': every = 'soon'"),
        ('\n[[source]]\nname = "A"\nurl = "https://x"\nevery = "10000000w"\n', ":2: source 'A': every = '10000000w'"),
        ('[[source]]\nname = "A"\nurl = "https://x"\nevery = "367d"\n', "at most 366d"),
        ('[[source]]\nname = "A"\nurl = "ftp://x"\n', "is not an http(s) URL"),
        ('[[source]]\nname = "A"\nurl = "https://x"\nfilter = "yes"\n', "filter must be true or false"),
        ('[[source]]\nname = "A"\nurl = "https://x"\ncolour = 1\n', "unknown key 'colour'"),
        ('[[source]]\nname = "A"\nurl = "https://x"\n[[source]]\nname = "A"\nurl = "https://y"\n',
         ":4: duplicate source name 'A' (first at line 1)"),
        ('[[source]]\nname = "A"\nurl = https://x\n', ":3: invalid TOML"),
        ("", "no [[source]] entries"),
    ],
)
def test_errors_name_file_line_and_problem(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(SourcesError) as info:
        load_sources(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(SourcesError, match="no such file"):
        load_sources(tmp_path / "nope.toml")


def test_opml_round_trip(tmp_path):
    sources = load_sources(write(tmp_path, GOOD))
    opml = tmp_path / "subs.opml"
    opml.write_text(write_opml(sources), encoding="utf-8")
    back = read_opml(opml, publisher="news")
    assert [(s.name, s.url) for s in back] == [("A", "https://example.org/a.xml")]  # API sources are not feeds
    again = write(tmp_path, to_toml(back))
    assert load_sources(again)[0].url == "https://example.org/a.xml"


def test_opml_nested_and_names_with_quotes(tmp_path):
    opml = tmp_path / "x.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="1.0"><body><outline text="Science">'
        '<outline text="Dr &quot;Hair&quot; Blog" xmlUrl="https://blog.example/feed"/>'
        '<outline text="no feed"/></outline></body></opml>', encoding="utf-8")
    [s] = read_opml(opml)
    assert s.name == 'Dr "Hair" Blog'
    assert load_sources(write(tmp_path, to_toml([s])))[0].name == 'Dr "Hair" Blog'


def test_opml_not_opml(tmp_path):
    bad = tmp_path / "bad.opml"
    bad.write_text("<html><body>hi</body></html>", encoding="utf-8")
    with pytest.raises(SourcesError, match="no <outline"):
        read_opml(bad)
