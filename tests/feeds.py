"""Small feed builders for pipeline tests: the formats we harvest, written by us."""

from __future__ import annotations

import json
from html import escape

LONG = ("Researchers reported results in the journal. " * 20).strip()


def rss(items: list[dict], title: str = "Test feed") -> bytes:
    parts = [f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
             f'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>{escape(title)}</title>'
             f'<link>https://example.org/</link><description>d</description>']
    for it in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(it['title'])}</title>")
        if it.get("link"):
            parts.append(f"<link>{escape(it['link'])}</link>")
        if it.get("guid"):
            parts.append(f'<guid isPermaLink="false">{escape(it["guid"])}</guid>')
        parts.append(f"<pubDate>{it.get('date', 'Tue, 02 Jan 2024 10:00:00 +0100')}</pubDate>")
        parts.append(f"<description>{escape(it.get('summary', LONG))}</description>")
        if it.get("content"):
            parts.append(f"<content:encoded><![CDATA[{it['content']}]]></content:encoded>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def atom(items: list[dict], title: str = "Atom feed") -> bytes:
    parts = [f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
             f"<title>{escape(title)}</title><id>urn:test:feed</id><updated>2024-01-02T00:00:00Z</updated>"]
    for it in items:
        parts.append(f"<entry><title>{escape(it['title'])}</title><id>{escape(it.get('guid') or it['link'])}</id>"
                     f'<link rel="alternate" href="{escape(it["link"])}"/>'
                     f"<updated>{it.get('date', '2024-01-02T09:00:00-05:00')}</updated>"
                     f"<author><name>A. Author</name></author>"
                     f'<summary type="html">{escape(it.get("summary", LONG))}</summary></entry>')
    parts.append("</feed>")
    return "".join(parts).encode("utf-8")


def rdf(items: list[dict], title: str = "RDF feed") -> bytes:
    parts = ['<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
             'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
             f'<channel rdf:about="https://example.org/"><title>{escape(title)}</title>'
             "<link>https://example.org/</link><description>d</description></channel>"]
    for it in items:
        parts.append(f'<item rdf:about="{escape(it["link"])}"><title>{escape(it["title"])}</title>'
                     f"<link>{escape(it['link'])}</link><description>{escape(it.get('summary', LONG))}</description>"
                     f"<dc:date>{it.get('date', '2024-01-02T10:00:00+02:00')}</dc:date></item>")
    parts.append("</rdf:RDF>")
    return "".join(parts).encode("utf-8")


def json_feed(items: list[dict], title: str = "JSON feed") -> bytes:
    return json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": title, "home_page_url": "https://example.org/",
        "items": [{"id": it.get("guid") or it["link"], "url": it["link"], "title": it["title"],
                   "content_text": it.get("summary", LONG), "date_published": it.get("date", "2024-01-02T10:00:00+00:00")}
                  for it in items],
    }).encode("utf-8")


def hair_items(n: int = 3, prefix: str = "https://example.org/news/") -> list[dict]:
    return [{"title": f"Minoxidil study {i} in alopecia patients", "link": f"{prefix}{i}",
             "summary": f"Item {i}. " + LONG} for i in range(n)]
