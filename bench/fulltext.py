"""Full text at scale on PostgreSQL: today's plan (GIN on ``moments.text_tsv``, the first
``TEXT_RANK_CAP`` matches ranked by ``ts_rank_cd``) against RUM, tantivy and GIN plans of other
bounds, on one archive, the same queries through each in one process.

    .venv/bin/python -m bench.fulltext [--moments 1000000] [--queries 200] [--skip exact,...] [--no-doc]

The archive is ``bench/archive.py``'s PostgreSQL one (``videoqa_bench_<n>``, built or reused; never
changed here except for the side table below, dropped at the end). Candidates:

- **today**: ``video_qa.search.fulltext.text_matches`` itself (AND of the query's terms, then OR when
  the AND list is short; at most ``TEXT_RANK_CAP`` matches ranked, the first the index yields);
- **GIN exact**: the same GIN index, ``ORDER BY ts_rank_cd DESC LIMIT k`` (every match ranked:
  the exact top k, unbounded cost; the reference of what exactness costs);
- **GIN cap 200**: today's plan with 200 instead of 1000 matches ranked (a tighter bound);
- **RUM**: ``CREATE EXTENSION rum``, a side table ``bench_fulltext (id, text_tsv)`` copied from
  ``moments`` in id order, ``USING rum (text_tsv rum_tsvector_ops)``, ``ORDER BY text_tsv <=> q
  LIMIT k`` (ranked from the positions stored in the index; the side table, not ``moments``, so the
  planner of other runs on this archive never sees the index). Its build is timed beside a GIN
  build on the same side table;
- **tantivy**: an index folder (``bench/.cache/fulltext-tantivy-<n>``) built from ``moments``
  (``en_stem``: the Snowball English stemmer, as PostgreSQL's ``english``), BM25, a boolean query of
  term queries (Must for AND, Should for OR; the terms PostgreSQL's ``english`` drops as stop words
  dropped too), top k without counting the matches.

Every candidate answers as ``text_matches`` does: AND first, then OR when the AND list holds fewer
than half of k = 50. Queries are ``archive.queries``: **phrases** (a pool sentence as said: its AND
matches are the few moments holding that sentence, about 1 in 4000, while each of its words is in
5-10 % of the archive), **words** (three words of a sentence), **common** (question-like salads:
two common words, thousands of AND matches at 1M), and a quarter of the queries **none** (two
objects and a verb: no moment holds every word, so the OR of common words runs, the widest match
set; ``no_match_queries``). Per candidate and class: p50 / p95 ms
(after one untimed pass over every query; candidates interleaved per query, the first one rotating);
**overlap@10** with today's ids; **exact@10**: the share of its top 10 that belong to the exact top 10
by today's ranking function (``ts_rank_cd``, AND matches before OR-only ones), tie-aware: the
archive repeats 4000 sentences, so the exact top 10 is decided by its 10th key, computed from
the pool's ranks and each sentence's count, with no scan; **phrase@10** (phrases): the share of the
top 10 whose text holds the phrase, word for word.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bench._lib import CACHE, PG_ADMIN, cli
from bench._lib.report import run_line, write_block
from bench.archive import archive, choices, pool_vectors, queries, sentence_pool

POOL = 4000
K = 50  # text_matches' limit (CANDIDATES)
KEYS = ("today", "sql", "exact", "cap200", "rum", "tantivy")  # the candidates, in order, for --skip
CLASSES = ("phrase", "words", "common", "none")  # archive.queries' three kinds in turn, then no_match_queries


def query_class(i: int, n_archive: int) -> str:
    return CLASSES[i % 3] if i < n_archive else CLASSES[3]


def no_match_queries(n: int, seed: int = 17) -> list[str]:
    """Queries no moment answers with every word: two objects (a sentence holds one) and a verb, so
    the OR of common words runs (``text_matches``' fallback; the widest match set)."""
    import random

    from bench.archive import OBJECTS, VERBS

    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.sample(OBJECTS, 2)
        out.append(f"{a.split()[-1]} {rng.choice(VERBS).split()[0]} {b.split()[-1]}")
    return out


def terms_of(query: str) -> list[str]:
    """The query's terms as ``text_matches`` takes them (stop words out, all words when none is left)."""
    from video_qa.search.query import STOPWORDS, words

    ws = words(query)
    return list(dict.fromkeys(w for w in ws if w not in STOPWORDS)) or list(dict.fromkeys(ws))


def two_phase(ranked: Callable[[list[str], bool], list[int]], terms: list[str]) -> list[int]:
    """``text_matches``' AND-then-OR over any candidate's ``ranked(terms, every)`` (best first)."""
    every = ranked(terms, True)[:K]
    some: list[int] = []
    if len(terms) > 1 and (not every or len(every) < K // 2):
        seen = set(every)
        some = [i for i in ranked(terms, False) if i not in seen]
    return every + some[:K - len(every)]


@dataclass
class Candidate:
    name: str
    ranked: Callable[[list[str], bool], list[int]] | None = None  # None: today's text_matches
    build_s: float | None = None
    size_mb: float | None = None
    times: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in CLASSES})
    overlap: list[float] = field(default_factory=list)
    exact: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in CLASSES})
    phrase: list[float] = field(default_factory=list)


# ---- PostgreSQL candidates

def sql_ranked(conn, sql: str) -> Callable[[list[str], bool], list[int]]:  # type: ignore[no-untyped-def]
    """A candidate from one SQL statement taking ``%(q)s`` (the tsquery text) and returning ids, best first."""
    def ranked(terms: list[str], every: bool) -> list[int]:
        rows = conn.exec_driver_sql(sql, {"q": (" & " if every else " | ").join(terms)}).all()
        return [int(r[0]) for r in rows]
    return ranked


def gin_capped(cap: int) -> str:
    return (f"SELECT id FROM (SELECT id, ts_rank_cd(text_tsv, q) AS r FROM moments, to_tsquery('english', %(q)s) q "
            f"WHERE text_tsv @@ q LIMIT {cap}) s ORDER BY r DESC, id LIMIT {K}")


GIN_EXACT = ("SELECT id FROM moments, to_tsquery('english', %(q)s) q WHERE text_tsv @@ q "
             f"ORDER BY ts_rank_cd(text_tsv, q) DESC, id LIMIT {K}")
RUM = ("SELECT id FROM bench_fulltext, to_tsquery('english', %(q)s) q WHERE text_tsv @@ q "
       f"ORDER BY text_tsv <=> q LIMIT {K}")


def build_side_table(conn) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The side table, its GIN build (timed, then dropped) and its RUM build (timed, kept for the run)."""
    out = {}
    conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS rum")
    conn.exec_driver_sql("DROP TABLE IF EXISTS bench_fulltext")
    conn.exec_driver_sql("SET maintenance_work_mem = '1GB'")
    t0 = time.perf_counter()
    conn.exec_driver_sql("CREATE TABLE bench_fulltext AS SELECT id, text_tsv FROM moments ORDER BY id")
    conn.exec_driver_sql("ALTER TABLE bench_fulltext ADD PRIMARY KEY (id)")
    out["copy_s"] = time.perf_counter() - t0
    for kind, using in (("gin", "gin (text_tsv)"), ("rum", "rum (text_tsv rum_tsvector_ops)")):
        t0 = time.perf_counter()
        conn.exec_driver_sql(f"CREATE INDEX bench_fulltext_{kind} ON bench_fulltext USING {using}")
        out[f"{kind}_s"] = time.perf_counter() - t0
        out[f"{kind}_mb"] = conn.exec_driver_sql(
            f"SELECT pg_relation_size('bench_fulltext_{kind}')").scalar() / 2**20
        if kind == "gin":
            conn.exec_driver_sql("DROP INDEX bench_fulltext_gin")
    conn.exec_driver_sql("VACUUM ANALYZE bench_fulltext")
    return out


def plan_of(conn, sql: str, q: str) -> str:  # type: ignore[no-untyped-def]
    """The index names in ``sql``'s plan for tsquery text ``q`` (which index a candidate really uses)."""
    lines = [r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, {"q": q}).all()]
    return ", ".join(sorted({w for line in lines for w in line.replace("(", " ").split()
                             if w.startswith(("ix_", "bench_fulltext_"))})) or "no index"


# ---- tantivy

def tantivy_candidate(conn, folder, lexeme: Callable[[str], str | None]):  # type: ignore[no-untyped-def]
    """Build the index folder from ``moments`` (timed) and return (ranked, seconds, MB)."""
    import tantivy

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    schema = (tantivy.SchemaBuilder().add_integer_field("id", stored=True, fast=True)
              .add_text_field("text", stored=False, tokenizer_name="en_stem", index_option="position").build())
    t0 = time.perf_counter()
    index = tantivy.Index(schema, path=str(folder))
    writer = index.writer(heap_size=512 * 2**20, num_threads=2)
    with conn.engine.connect() as reading:  # a server-side cursor, in a transaction of its own
        for mid, text in reading.execution_options(yield_per=50_000).exec_driver_sql(
                "SELECT id, text FROM moments ORDER BY id"):
            writer.add_document(tantivy.Document(id=int(mid), text=text))
    writer.commit()
    writer.wait_merging_threads()
    seconds = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20
    index.reload()
    searcher = index.searcher()
    analyzer = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.remove_long(40))
                .filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.stemmer("english")).build())
    occur = {True: tantivy.Occur.Must, False: tantivy.Occur.Should}
    stems: dict[str, list[str]] = {}

    def ranked(terms: list[str], every: bool) -> list[int]:
        toks = []
        for t in terms:
            if t not in stems:  # PostgreSQL's stop words are no terms there either
                stems[t] = analyzer.analyze(t) if lexeme(t) is not None else []
            toks += stems[t]
        if not toks:
            return []
        q = tantivy.Query.boolean_query([(occur[every], tantivy.Query.term_query(schema, "text", s))
                                         for s in dict.fromkeys(toks)])
        hits = searcher.search(q, K, count=False).hits
        return [searcher.doc(addr)["id"][0] for _, addr in hits]

    ranked.stems = stems  # type: ignore[attr-defined]
    return ranked, seconds, size


# ---- the exact reference, from the pool

def pool_keys(conn, pool: list[str], terms: list[str]) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Per pool sentence: its phase (0 AND match, 1 OR-only match, 2 no match) and ts_rank_cd."""
    rows = conn.exec_driver_sql(
        "SELECT s @@ qa, s @@ qo, ts_rank_cd(s, qa), ts_rank_cd(s, qo) FROM unnest(%(p)s::text[]) WITH ORDINALITY "
        "AS p(t, i), LATERAL to_tsvector('english', t) s, to_tsquery('english', %(a)s) qa, "
        "to_tsquery('english', %(o)s) qo ORDER BY i", {"p": pool, "a": " & ".join(terms), "o": " | ".join(terms)}).all()
    phase = np.array([0 if a else 1 if o else 2 for a, o, _, _ in rows])
    score = np.array([ra if a else ro for a, _, ra, ro in rows], dtype=np.float64)
    return phase, score


def exact_share(ids: list[int], picks: np.ndarray, counts: np.ndarray, phase: np.ndarray, score: np.ndarray,
                terms: list[str]) -> float | None:
    """The share of ``ids[:10]`` within the exact top 10 (AND matches by score, then OR-only ones
    when the AND matches are fewer than K // 2), tie-aware; None when nothing matches."""
    and_total = int(counts[phase == 0].sum())
    usable = (phase == 0) | ((phase == 1) & (len(terms) > 1) & (and_total < K // 2))
    order = sorted(np.flatnonzero(usable & (counts > 0)), key=lambda j: (phase[j], -score[j]))
    seen, kth = 0, None
    for j in order:
        seen += int(counts[j])
        kth = (phase[j], score[j])
        if seen >= 10:
            break
    if kth is None:
        return None
    top = ids[:10]
    good = sum(1 for i in top if usable[picks[i - 1]] and (phase[picks[i - 1]] < kth[0] or (
        phase[picks[i - 1]] == kth[0] and score[picks[i - 1]] >= kth[1] - 1e-6)))
    return good / min(10, seen)


def holds_phrase(text: str, query: str) -> bool:
    from video_qa.search.query import normalised

    return f" {' '.join(normalised(query))} " in f" {' '.join(normalised(text))} "


# ---- the run

def measure(size: int, n_queries: int, skip: frozenset[str] = frozenset()) -> dict:
    from sqlalchemy import create_engine

    from video_qa.db import engine_for, unit_of_work
    from video_qa.search import Filters, text_matches

    pool = sentence_pool(POOL)
    vectors, _ = pool_vectors(pool)
    made = archive("postgresql", size, pool, vectors, PG_ADMIN)
    picks = choices(size, len(pool), 3)  # archive()'s default seed
    engine = create_engine(made.url)
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    side = build_side_table(conn)
    lex_cache: dict[str, str | None] = {}

    def lexeme(w: str) -> str | None:
        if w not in lex_cache:
            sql = "SELECT array_to_string(tsvector_to_array(to_tsvector('english', %(w)s)), ' ')"
            lex_cache[w] = conn.exec_driver_sql(sql, {"w": w}).scalar() or None
        return lex_cache[w]

    folder = CACHE / f"fulltext-tantivy-{size}"
    tv, tv_s, tv_mb = tantivy_candidate(conn, folder, lexeme)
    gin_mb = conn.exec_driver_sql("SELECT pg_relation_size('ix_moments_text_tsv_stored')").scalar() / 2**20
    cands = [Candidate("today: text_matches (GIN, first 1000 ranked)", None, None, gin_mb),
             Candidate("today's plan as one SQL statement", sql_ranked(conn, gin_capped(1000)), None, gin_mb),
             Candidate("GIN exact (ORDER BY ts_rank_cd)", sql_ranked(conn, GIN_EXACT), None, gin_mb),
             Candidate("GIN cap 200", sql_ranked(conn, gin_capped(200)), None, gin_mb),
             Candidate("RUM (ORDER BY <=>)", sql_ranked(conn, RUM), side["rum_s"], side["rum_mb"]),
             Candidate("tantivy (BM25)", tv, tv_s, tv_mb)]
    cands = [c for c, key in zip(cands, KEYS) if key not in skip]
    plans = {"today": plan_of(conn, gin_capped(1000), "budget & lift"), "RUM": plan_of(conn, RUM, "budget & lift")}
    app = engine_for(made.url)
    n_archive = n_queries - n_queries // 4
    qs = queries(pool, n_archive) + no_match_queries(n_queries - n_archive)
    terms = [terms_of(q) for q in qs]
    refs = [pool_keys(conn, pool, t) for t in terms]

    def today(t: list[str]) -> list[int]:
        with unit_of_work(app) as session:
            every, some = text_matches(session, t, Filters())
        return every + some

    def run(c: Candidate, t: list[str]) -> list[int]:
        return today(t) if c.ranked is None else two_phase(c.ranked, t)

    for i, t in enumerate(terms):  # untimed pass: caches warm for every candidate alike
        for c in cands:
            run(c, t)
    load = [os.getloadavg()[0]]
    for i, (q, t, (phase, score)) in enumerate(zip(qs, terms, refs)):
        got = {}
        for n in range(len(cands)):
            c = cands[(i + n) % len(cands)]
            t0 = time.perf_counter()
            got[c.name] = run(c, t)
            c.times[query_class(i, n_archive)].append((time.perf_counter() - t0) * 1000)
        base = set(got[cands[0].name][:10])
        for c in cands:
            ids = got[c.name]
            c.overlap.append(len(base & set(ids[:10])) / max(1, len(base)))
            share = exact_share(ids, picks, made.counts, phase, score, t)
            if share is not None:
                c.exact[query_class(i, n_archive)].append(share)
            if query_class(i, n_archive) == "phrase":
                c.phrase.append(sum(holds_phrase(pool[picks[m - 1]], q) for m in ids[:10]) / max(1, min(10, len(ids))))
    load.append(os.getloadavg()[0])
    stem_gaps = sorted(w for w, s in tv.stems.items() if s and " ".join(s) != lex_cache.get(w))
    conn.exec_driver_sql("DROP TABLE IF EXISTS bench_fulltext")
    conn.close()
    engine.dispose()
    return {"size": size, "queries": len(qs), "cands": cands, "side": side, "plans": plans, "load": load,
            "stem_gaps": stem_gaps, "archive_s": made.build_seconds}


def table(r: dict, extra: tuple[str, ...] = ()) -> str:
    def pct(xs: list[float], p: int) -> str:
        return f"{np.percentile(xs, p):.1f}" if xs else "-"

    def mean(xs: list[float]) -> str:
        return f"{np.mean(xs):.2f}" if xs else "-"

    lines = ["| candidate | build s | index MB | " + " | ".join(f"{k} p50 / p95 ms" for k in CLASSES)
             + " | all p95 ms | overlap@10 with today | exact@10 " + " / ".join(CLASSES) + " | phrase@10 |",
             "| --- | ---: | ---: | " + "---: | " * len(CLASSES) + "---: | ---: | --- | ---: |"]
    for c in r["cands"]:
        every = [x for c_ in CLASSES for x in c.times[c_]]
        build = f"{c.build_s:.1f}" if c.build_s is not None else "(archive)"
        lines.append(f"| {c.name} | {build} | {c.size_mb:.0f} | "
                     + " | ".join(f"{pct(c.times[k], 50)} / {pct(c.times[k], 95)}" for k in CLASSES)
                     + f" | {pct(every, 95)} | {mean(c.overlap)} | "
                     + " / ".join(mean(c.exact[k]) for k in CLASSES) + f" | {mean(c.phrase)} |")
    s = r["side"]
    line = run_line("fulltext", "--moments", str(r["size"]), "--queries", str(r["queries"]), *extra)
    return (f"{line}; load average "
            f"{r['load'][0]:.1f} when the timed pass began, {r['load'][1]:.1f} when it ended. PostgreSQL archive of "
            f"{r['size']:,} moments (`bench/archive.py`), {r['queries']} queries (three quarters phrase, words, common "
            f"in turn; a quarter none), k = {K}. "
            f"Side table copy {s['copy_s']:.1f} s; on it GIN builds in {s['gin_s']:.1f} s ({s['gin_mb']:.0f} MB), "
            f"RUM in {s['rum_s']:.1f} s ({s['rum_mb']:.0f} MB); today's GIN index is built with the archive. "
            f"Plans (EXPLAIN): today's uses {r['plans']['today']}, RUM's {r['plans']['RUM']}. Terms whose tantivy "
            f"stem differs from PostgreSQL's lexeme: {', '.join(r['stem_gaps']) or 'none'}.\n\n" + "\n".join(lines))


def main() -> None:
    parser = cli("fulltext", __doc__)
    parser.add_argument("--moments", type=int, default=1_000_000, help="archive size (PostgreSQL)")
    parser.add_argument("--queries", type=int, default=200,
                        help="queries: three quarters phrase, words, common in turn, a quarter none")
    parser.add_argument("--no-doc", action="store_true", help="print the table only (docs/benchmarks.md unchanged)")
    parser.add_argument("--skip", default="", help=f"comma-separated candidates left out, of {','.join(KEYS[1:])} "
                        "(the exact ranking of every OR match takes seconds a query at 10M)")
    args = parser.parse_args()
    skip = frozenset(k for k in args.skip.split(",") if k)
    if not skip <= set(KEYS[1:]):
        parser.error(f"--skip takes {','.join(KEYS[1:])}")
    extra = ("--skip", args.skip) if skip else ()
    body = table(measure(args.moments, args.queries, skip), extra)
    print(body)
    if not args.no_doc:
        write_block(f"fulltext-{args.moments}", f"Full text at scale ({args.moments:,} moments)", body)


if __name__ == "__main__":
    main()
