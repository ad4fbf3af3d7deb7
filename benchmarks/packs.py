"""Look packs vs standalone .nlut files at T1, and batched vs looped pack training.

    nice -n 15 .venv/bin/python benchmarks/packs.py [--luts ../shared/luts] [--only freshluts_]
        [--option cond:16:48,32 --option lora:2:48,32] [--recipe '{"adam_steps": 2000}']
        [--no-fallback] [--speed-steps 20] [--out benchmarks/results]
    .venv/bin/python benchmarks/packs.py --libraries family,freshluts,mixed --family-dir DIR
        [--cache DIR] [--out benchmarks/results]

``--libraries`` (written to packs_stage.json/.md) builds stage packs — the default of ``lutplug
pack build`` (:mod:`lutplug.codec.pack_family`) — of the family (the 12 .cube files
``../shared/tools/families/build.py DIR --family aces13-p3`` writes, in ``--family-dir``), the 20
freshluts looks and both together, and reports per look its kind, its share of the pack, its
standalone .nlut bytes (made in the same run by the same code, kept in ``--cache``), and whether
its extracted .nlut, baked to its own grid, meets T1 against its source; the family also gets the
add test: a pack built on the first 11 looks, then the 12th added (base unchanged? added bytes
against its standalone .nlut).

For each ``--option`` (adapter kind : dim : base hidden widths) it builds one pack over the
selected LUTs (``lutplug.codec.pack_train.build_pack``) and records the pack's bytes, how many
looks meet T1 through the adapter, the build time and every look's quality. With ``--no-fallback``
looks that miss T1 are left as they are and "bytes at T1" adds, for each of them, its standalone
.nlut bytes from benchmarks/results/frontier.json (or, when that file has no row for it, the
median standalone bytes of the rows it has — marked as estimated).

"Standalone sum" is the sum of whole .nlut file bytes in frontier.json (written by
benchmarks/frontier.py) for the looks it covers; the ratio is computed over those looks only
(a pack's bytes are split per look as base/n + the look's own share of the pack).

The speed test times ``--speed-steps`` training steps of all looks batched (one vmapped step)
against the same steps looping over the looks one model at a time (same maths, same per-look
batch), single process, after one warm-up step each.

Writes packs.json and packs.md into ``--out``.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from lutplug import __version__
from lutplug.codec import adapters
from lutplug.codec import pack_train as PT
from lutplug.metrics import T1, quality_report

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guard import SHARED_HINT, refuse, require, require_folder  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LUT_EXTENSIONS = (".cube", ".3dl", ".spi3d", ".csp", ".clf", ".ctf", ".png")


def _inputs(folder: Path, only: str):
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in LUT_EXTENSIONS and only in p.name)
    return [PT.look_input(p) for p in files]


def _standalone(frontier: Path) -> dict:
    if not frontier.is_file():
        return {}
    rows = json.loads(frontier.read_text()).get("rows", [])
    return {Path(r["file"]).stem: {"bytes": r["lutplug"]["bytes"], "meets": r["lutplug"]["meets"]}
            for r in rows if r.get("lutplug")}


def _look_shares(pack) -> dict:
    """Bytes of each look inside the pack: the pack minus the pack without that look (so the base
    and the shared header are not counted in any look's share)."""
    total = len(pack.to_bytes())
    shares = {}
    for look in pack.looks:
        others = [lk for lk in pack.looks if lk.name != look.name]
        shares[look.name] = total - len(pack.with_looks(others).to_bytes()) if others else total
    return shares


def run_option(inputs, kind: str, dim: int, hidden, recipe: dict, fallback: bool, standalone: dict,
               seed: int) -> dict:
    log = []
    t0 = time.perf_counter()
    pack = PT.build_pack(inputs, hidden=hidden, kind=kind, dim=dim, recipe=recipe, seed=seed,
                         fallback=fallback, progress=lambda i: log.append(i) if i.get("stage") != "train"
                         or "de_mean" in i else None)
    build_s = time.perf_counter() - t0
    shares = _look_shares(pack)
    rows = [{"name": look.name, "kind": look.kind, "share_bytes": shares[look.name],
             "extracted_nlut_bytes": len(pack.extract(look.name).to_bytes()), **look.quality}
            for look in pack.looks]
    out = {"kind": kind, "dim": dim, "hidden": list(hidden), "recipe": recipe, "fallback": fallback,
           "looks": len(rows), "pack_bytes": len(pack.to_bytes()), "build_s": build_s,
           "mean_look_share_bytes": statistics.mean(shares.values()), "rows": rows,
           "events": [e for e in log if e.get("stage") != "train"]}
    return score(out, standalone)


def score(o: dict, standalone: dict) -> dict:
    """Add to option result ``o`` its figures against the standalone bytes (``{name: {bytes}}``):
    looks meeting T1, bytes at T1 (a look missing T1 through its adapter counted at its
    standalone bytes, or the median of the known ones: "estimated"), and the ratio over the
    looks ``standalone`` covers (base and header shared out evenly)."""
    rows = o["rows"]
    known = [b["bytes"] for b in standalone.values()]
    median = statistics.median(known) if known else 0
    extra, estimated = 0, 0
    for r in rows:
        r["standalone_bytes"] = standalone.get(r["name"], {}).get("bytes")
        if not r.get("meets_target") and r["kind"] == "adapter":
            alt = r["standalone_bytes"]
            if alt is None:
                alt, estimated = median, estimated + 1
            extra += alt - r["share_bytes"]
    covered = [r for r in rows if r["standalone_bytes"] is not None]
    base_bytes = o["pack_bytes"] - sum(r["share_bytes"] for r in rows)
    cov_pack = sum(r["share_bytes"] for r in covered) + base_bytes * len(covered) / max(len(rows), 1)
    cov_alone = sum(r["standalone_bytes"] for r in covered)
    o.update(base_and_header_bytes=base_bytes, meets_t1=sum(1 for r in rows if r.get("meets_target")),
             bytes_at_t1=o["pack_bytes"] + extra, bytes_at_t1_estimated_looks=estimated,
             covered_by_frontier=[r["name"] for r in covered], covered_pack_bytes=cov_pack,
             covered_standalone_bytes=cov_alone, covered_ratio=cov_pack / cov_alone if cov_alone else None,
             standalone_meeting_t1=sum(1 for r in covered if standalone[r["name"]].get("meets")))
    return o


def speed(inputs, kind: str, dim: int, hidden, steps: int, batch: int, seed: int = 0) -> dict:
    """Seconds for ``steps`` training steps: all looks batched vs a Python loop over looks."""
    import torch

    spec = adapters.make_spec(list(hidden), kind, dim)
    rc = {**PT.PACK_RECIPE, "batch": batch, "n_train": 20_000, "max_lattice_train": 10_000}
    u, tc, jac = (torch.as_tensor(a) for a in PT._stacked_data(inputs, rc, seed))
    L = u.shape[0]

    def params():
        sh = {k: torch.nn.Parameter(torch.as_tensor(v)) for k, v in adapters.init_shared(spec, seed).items()}
        lk0 = [adapters.init_look(spec, seed + i) for i in range(L)]
        lk = {k: torch.nn.Parameter(torch.as_tensor(np.stack([x[k] for x in lk0]))) for k in lk0[0]}
        return sh, lk

    def batched_step(sh, lk, opt, gen):
        idx = torch.randint(0, u.shape[1], (L, batch), generator=gen)
        rows = torch.arange(L)[:, None]
        loss = PT._per_look_loss(PT._forward(spec, sh, lk, u[rows, idx], False, False),
                                 tc[rows, idx], jac[rows, idx], rc).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def looped_step(sh, lk, opt, gen):
        opt.zero_grad(set_to_none=True)
        for i in range(L):  # one look at a time: its own forward, loss and backward
            idx = torch.randint(0, u.shape[1], (batch,), generator=gen)
            one = {k: v[i:i + 1] for k, v in lk.items()}
            pred = PT._forward(spec, sh, one, u[i][idx][None], False, False)
            loss = PT._per_look_loss(pred, tc[i][idx][None], jac[i][idx][None], rc).sum()
            loss.backward()
        opt.step()

    out = {}
    for name, fn in (("batched", batched_step), ("looped", looped_step)):
        sh, lk = params()
        opt = torch.optim.Adam(list(sh.values()) + list(lk.values()), lr=1e-3)
        gen = torch.Generator().manual_seed(seed)
        fn(sh, lk, opt, gen)  # warm-up
        t0 = time.perf_counter()
        for _ in range(steps):
            fn(sh, lk, opt, gen)
        out[name + "_s"] = time.perf_counter() - t0
    out.update(steps=steps, looks=L, batch_per_look=batch, threads=torch.get_num_threads(),
               speedup=out["looped_s"] / out["batched_s"], arch=f"{kind} dim {dim} base {list(hidden)}")
    return out


def _md(result: dict) -> str:
    lines = ["# Look packs vs standalone .nlut at T1", "",
             f"LUTs: {result['selection']} ({result['looks']} looks). Standalone bytes: "
             f"benchmarks/results/frontier.json, which covers {len(result['frontier_covers'])} of them "
             f"({', '.join(result['frontier_covers']) or 'none'}).", "",
             "\"bytes at T1\": the pack, with every look that misses T1 through its adapter counted at its "
             "standalone .nlut bytes (frontier.json; the median of its rows where it has none: "
             "\"estimated\"). Build times are wall-clock on a shared, loaded 2-core machine.", "",
             "| option | recipe | pack B | base+header B | mean look share B | looks meeting T1 | "
             "pack / standalone sum | bytes at T1 / standalone sum | build s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for o in result["options"]:
        alone = o["covered_standalone_bytes"]
        ratio = f"{o['covered_pack_bytes']:.0f} / {alone} = {o['covered_ratio']:.0%}" if alone else "n/a"
        est = f" ({o['bytes_at_t1_estimated_looks']} estimated)" if o["bytes_at_t1_estimated_looks"] else ""
        at_t1 = f"{o['bytes_at_t1']:.0f}{est}" + (f" / {alone} = {o['bytes_at_t1'] / alone:.0%}"
                                                  if alone and len(o["covered_by_frontier"]) == o["looks"] else "")
        rc = ", ".join(f"{k} {v}" for k, v in o["recipe"].items()) or "default"
        lines.append(f"| {o['kind']} dim {o['dim']} base {o['hidden']} | {rc} | {o['pack_bytes']} | "
                     f"{o['base_and_header_bytes']} | {o['mean_look_share_bytes']:.0f} | "
                     f"{o['meets_t1']}/{o['looks']} | {ratio} | {at_t1} | {o['build_s']:.0f} |")
    if result["options"] and result["options"][0].get("standalone_meeting_t1") is not None:
        o = result["options"][0]
        lines += ["", f"Standalone .nlut files (frontier.json) meeting T1: {o['standalone_meeting_t1']} of "
                      f"{len(o['covered_by_frontier'])} covered looks."]
    if result.get("speed"):
        s = result["speed"]
        lines += ["", f"Training speed ({s.get('arch', '')}; {s['looks']} looks, {s['batch_per_look']} samples per look per step, "
                      f"{s['steps']} steps, {s['threads']} torch threads): batched {s['batched_s']:.1f} s, "
                      f"looped {s['looped_s']:.1f} s — {s['speedup']:.1f}x."]
    for o in result["options"]:
        lines += ["", f"## {o['kind']} dim {o['dim']} base {o['hidden']}", "",
                  "| look | kind | share B | standalone B | ΔE mean / p99 / max | PSNR | T1 |",
                  "|---|---|---:|---:|---|---:|:-:|"]
        for r in o["rows"]:
            lines.append(f"| {r['name']} | {r['kind']} | {r['share_bytes']} | {r['standalone_bytes'] or ''} | "
                         f"{r.get('de_mean')} / {r.get('de_p99')} / {r.get('de_max')} | {r.get('psnr')} | "
                         f"{'yes' if r.get('meets_target') else 'no'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--luts", type=Path, default=REPO.parent / "shared" / "luts")
    ap.add_argument("--only", default="", help="substring of the file names to include")
    ap.add_argument("--option", action="append", default=None,
                    help="kind:dim:h1,h2 (default: the library's, head:0:64)")
    ap.add_argument("--recipe", default="{}", help="JSON overrides of PACK_RECIPE")
    ap.add_argument("--no-fallback", action="store_true")
    ap.add_argument("--speed-steps", type=int, default=10)
    ap.add_argument("--speed-only", action="store_true", help="only the batched-vs-looped timing")
    ap.add_argument("--rescore", action="store_true",
                    help="recompute the byte figures of an existing result file against the current "
                         "frontier.json (no training)")
    ap.add_argument("--speed-batch", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--name", default="packs", help="output file stem")
    ap.add_argument("--append", action="store_true",
                    help="add these options (and speed test) to an existing result file of the same selection")
    ap.add_argument("--libraries", default="", help="stage packs of: family,freshluts,mixed")
    ap.add_argument("--family-dir", type=Path, default=None, help="the family's .cube files")
    ap.add_argument("--cache", type=Path, default=REPO / "build" / "standalone-cache",
                    help="standalone .nlut files kept between runs")
    args = ap.parse_args()
    if args.libraries:
        if args.family_dir is None and ("family" in args.libraries or "mixed" in args.libraries):
            refuse("--family-dir DIR is needed (python ../shared/tools/families/build.py DIR --family aces13-p3)")
        args.out.mkdir(parents=True, exist_ok=True)
        run_libraries(args)
        return
    if args.rescore:
        if not (args.out / f"{args.name}.json").is_file():
            refuse(f"--rescore: {args.out / (args.name + '.json')} not found")
        result = json.loads((args.out / f"{args.name}.json").read_text())
        standalone = _standalone(REPO / "benchmarks" / "results" / "frontier.json")
        result["frontier_covers"] = [r["name"] for r in result["options"][0]["rows"] if r["name"] in standalone] \
            if result["options"] else []
        for o in result["options"]:
            score(o, {k: v for k, v in standalone.items() if k in {r["name"] for r in o["rows"]}})
        _write(args, result)
        return
    require_folder(args.luts, hint=SHARED_HINT)
    inputs = require(_inputs(args.luts, args.only), f"LUT files in {args.luts}"
                     + (f" matching {args.only!r}" if args.only else ""), SHARED_HINT)
    standalone = _standalone(REPO / "benchmarks" / "results" / "frontier.json")
    names = [i.name for i in inputs]
    result = {"machine": platform.platform(), "lutplug": __version__, "selection": args.only or "all",
              "looks": len(inputs), "frontier_covers": [n for n in names if n in standalone],
              "options": []}
    previous = args.out / f"{args.name}.json"
    if args.append and previous.is_file():
        old = json.loads(previous.read_text())
        if old.get("selection") == result["selection"]:
            result["options"] = old.get("options", [])
            result["speed"] = old.get("speed")
    command = "benchmarks/packs.py " + " ".join(sys.argv[1:])
    recipe = json.loads(args.recipe)
    options = [_parse_option(o) for o in args.option or
               [f"{PT.DEFAULT_KIND}:{PT.DEFAULT_DIM}:{','.join(map(str, PT.DEFAULT_HIDDEN))}"]]
    args.out.mkdir(parents=True, exist_ok=True)
    if args.speed_steps:
        result["speed"] = speed(inputs, *options[0], args.speed_steps, args.speed_batch, args.seed)
        result["speed"]["command"] = command
        print(json.dumps(result["speed"]), flush=True)
        _write(args, result)
    for kind, dim, hidden in [] if args.speed_only else options:
        o = run_option(inputs, kind, dim, hidden, recipe, not args.no_fallback,
                       {k: v for k, v in standalone.items() if k in names}, args.seed)
        o["command"] = command
        result["options"].append(o)
        print(json.dumps({k: v for k, v in o.items() if k not in ("rows", "events")}), flush=True)
        _write(args, result)


def _stage_library(inputs, cache: Path, seed: int) -> tuple:
    """(result dict, pack) of a stage pack of ``inputs``."""
    from lutplug.codec.pack_family import build_family

    events: list = []
    t0 = time.perf_counter()

    def log(info: dict) -> None:
        if info.get("stage") != "train":
            events.append({**info, "t": time.perf_counter() - t0})

    pack = build_family(inputs, seed=seed, standalone_cache=cache, progress=log)
    build_s = time.perf_counter() - t0
    alone = {e["look"]: e for e in events if e.get("kind") == "standalone"}
    shares = _look_shares(pack)
    rows = []
    for inp in inputs:
        look = pack.look(inp.name)
        extracted = pack.extract(inp.name)
        baked = extracted.bake(extracted.bake_size(inp.lut.size))  # what hosts bake (a lattice: its grid)
        q = quality_report(inp.lut, baked, n_random=200_000, seed=seed)
        rows.append({"name": inp.name, "kind": look.kind, "share_bytes": shares[inp.name],
                     "standalone_bytes": alone[inp.name]["standalone_bytes"], "step": look.info.get("step"),
                     "extracted_baked": {k: round(v, 4) for k, v in q.as_dict().items()},
                     "meets_t1": bool(q.meets(T1))})
    total = len(pack.to_bytes())
    alone_sum = sum(r["standalone_bytes"] for r in rows)
    return {"looks": len(rows), "pack_bytes": total, "standalone_sum_bytes": alone_sum,
            "ratio": total / alone_sum, "largest_standalone_bytes": max(r["standalone_bytes"] for r in rows),
            "stage_base": pack.stage_base, "stage_looks": sum(1 for r in rows if r["kind"] == "stage"),
            "meets_t1": sum(1 for r in rows if r["meets_t1"]), "build_s": build_s,
            "standalone_s": _standalone_seconds(events), "rows": rows}, pack


def _standalone_seconds(events: list):
    """Seconds the standalone compressions took (None when any came from the cache)."""
    starts = {e["look"]: e["t"] for e in events if e.get("stage") == "standalone"}
    ends = {e["look"]: e["t"] for e in events if e.get("kind") == "standalone"}
    spans = [ends[k] - starts[k] for k in starts if k in ends]
    return sum(spans) if spans and min(spans) > 1.0 else None


def _add_test(inputs, cache: Path, seed: int) -> dict:
    """Build on all but the last look, add the last: base unchanged, added bytes, T1."""
    from lutplug.codec.pack_family import add_to_family, build_family

    first = build_family(inputs[:-1], seed=seed, standalone_cache=cache)
    events: list = []
    grown = add_to_family(first, inputs[-1:], seed=seed, standalone_cache=cache, progress=events.append)
    new = inputs[-1]
    base_same = first.stage_base == grown.stage_base and first.stage_base is not None and all(
        np.array_equal(first.look(first.stage_base).params[k], grown.look(grown.stage_base).params[k])
        for k in first.look(first.stage_base).params) and np.array_equal(first.stage_curve, grown.stage_curve)
    alone = [e for e in events if e.get("kind") == "standalone"][0]["standalone_bytes"]
    added = grown.extract(new.name)
    q = quality_report(new.lut, added.bake(added.bake_size(new.lut.size)), n_random=200_000, seed=seed)
    before, after = len(first.to_bytes()), len(grown.to_bytes())
    return {"built_on": len(inputs) - 1, "added": new.name, "kind": grown.look(new.name).kind,
            "base_unchanged": bool(base_same), "pack_before_bytes": before, "pack_after_bytes": after,
            "added_bytes": after - before, "standalone_bytes": alone, "added_share": (after - before) / alone,
            "meets_t1": bool(q.meets(T1)), "extracted_baked": {k: round(v, 4) for k, v in q.as_dict().items()}}


def run_libraries(args) -> None:
    libraries = [x for x in args.libraries.split(",") if x]
    family = require([PT.look_input(p) for p in sorted(args.family_dir.glob("*.cube"))],
                     f".cube files in {args.family_dir}",
                     "write them with: python ../shared/tools/families/build.py DIR --family aces13-p3") \
        if {"family", "mixed"} & set(libraries) else []
    fresh = _inputs(args.luts, "freshluts_") if {"freshluts", "mixed"} & set(libraries) else []
    if fresh == [] and {"freshluts", "mixed"} & set(libraries):
        refuse(f"no freshluts_ LUTs in {args.luts}")
    chosen = {"family": family, "freshluts": fresh, "mixed": family + fresh}
    args.cache.mkdir(parents=True, exist_ok=True)
    result = {"machine": platform.platform(), "lutplug": __version__, "command":
              "benchmarks/packs.py " + " ".join(sys.argv[1:]), "libraries": {}}
    for name in libraries:
        out, _ = _stage_library(chosen[name], args.cache, args.seed)
        result["libraries"][name] = out
        print(name, json.dumps({k: v for k, v in out.items() if k != "rows"}), flush=True)
        if name == "family":
            result["add"] = _add_test(family, args.cache, args.seed)
            print("add", json.dumps(result["add"]), flush=True)
        (args.out / "packs_stage.json").write_text(json.dumps(result, indent=2))
        (args.out / "packs_stage.md").write_text(_stage_md(result))


def _stage_md(result: dict) -> str:
    lines = ["# Stage packs (lutplug pack build) vs standalone .nlut files", "",
             f"`{result['command']}` — lutplug {result['lutplug']}. Standalone: every look compressed "
             "on its own by the same code (kept in --cache between runs: \"cached\" in the last column). "
             "T1: each look extracted from the pack, baked to its own grid, against its source (lattice "
             "nodes + 200,000 random points).", "",
             "| library | looks | stage looks | base | pack B | standalone sum B | pack / sum | "
             "largest standalone B | T1 | build s | standalone s |", "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, o in result["libraries"].items():
        alone_s = f"{o['standalone_s']:.0f}" if o.get("standalone_s") else "cached"
        lines.append(f"| {name} | {o['looks']} | {o['stage_looks']} | {o['stage_base'] or ''} | {o['pack_bytes']:,} | "
                     f"{o['standalone_sum_bytes']:,} | {o['ratio']:.1%} | {o['largest_standalone_bytes']:,} | "
                     f"{o['meets_t1']}/{o['looks']} | {o['build_s']:.0f} | {alone_s} |")
    if result.get("add"):
        a = result["add"]
        lines += ["", f"Add test: a pack of the first {a['built_on']} family looks, then `{a['added']}` added "
                      f"as a {a['kind']} look: base unchanged {a['base_unchanged']}, pack {a['pack_before_bytes']:,} → "
                      f"{a['pack_after_bytes']:,} B (+{a['added_bytes']:,} B = {a['added_share']:.1%} of its "
                      f"standalone {a['standalone_bytes']:,} B), T1 {'yes' if a['meets_t1'] else 'no'}."]
    for name, o in result["libraries"].items():
        lines += ["", f"## {name}", "", "| look | kind | share B | standalone B | step | ΔE00 mean / p99 / max | PSNR | T1 |",
                  "|---|---|---:|---:|---:|---|---:|:-:|"]
        for r in o["rows"]:
            q = r["extracted_baked"]
            step = f"{r['step']:.4g}" if r.get("step") else ""
            lines.append(f"| {r['name']} | {r['kind']} | {r['share_bytes']:,} | {r['standalone_bytes']:,} | {step} | "
                         f"{q['de_mean']:.3f} / {q['de_p99']:.2f} / {q['de_max']:.2f} | {q['psnr']:.1f} | "
                         f"{'yes' if r['meets_t1'] else 'no'} |")
    return "\n".join(lines) + "\n"


def _parse_option(text: str):
    kind, dim, hidden = text.split(":")
    return kind, int(dim), tuple(int(h) for h in hidden.split(","))


def _write(args, result: dict) -> None:
    (args.out / f"{args.name}.json").write_text(json.dumps(result, indent=2))
    (args.out / f"{args.name}.md").write_text(_md(result))


if __name__ == "__main__":
    main()
