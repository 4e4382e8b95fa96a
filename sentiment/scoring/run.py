"""A scoring run from its inputs to its results, shared by the ``score`` and
``score-inbox`` flows.

A run is planned once (:func:`plan_run`: the output prepared, the inputs found, those
already up to date skipped, the rest cut into shards), each shard is scored on its own
by whichever process takes it (:func:`score_shard`), and the large inputs' parts are
joined back (:func:`collect_results`), every input's result in input order.
Everything passed between these steps is a small manifest: paths and counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sentiment.core import storage
from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.discovery import InputFile, discover_inputs
from sentiment.scoring.outputs import prepare_output_directory
from sentiment.scoring.parts import assemble_parts, score_part
from sentiment.scoring.results import FileResult
from sentiment.scoring.scorer import ScoringModel, score_file
from sentiment.scoring.shards import plan_shards

if TYPE_CHECKING:
    from sentiment.modeling.resolved_bundle import ResolvedBundle

# Called with the share of the whole run done (0 to 1).
RunProgress = Callable[[float], None]


def run_config(config: ScoringConfig | None, bundle: ResolvedBundle) -> ScoringConfig:
    """The run's settings: ``config`` (default: the defaults) recording an explicit
    bundle's location (``--bundle``), which every output's metadata and up-to-date key
    carry; a registry bundle records none."""
    path = bundle.location if bundle.source == "path" else None
    return replace(config or ScoringConfig(), bundle_path=path)


def plan_run(
    inputs: Sequence[str],
    output: str,
    config: ScoringConfig,
    identity: Any,
    cut_large: bool,
) -> dict[str, Any]:
    """Prepare the output directory and turn the inputs into shards to score.

    Inputs whose outputs are up to date are skipped here (hashed now; no shard scores
    them, no model loads for them), small files are grouped several to a shard and,
    when ``cut_large``, a large Parquet, plain CSV or plain JSON-lines input is cut into
    ranges (:func:`sentiment.scoring.shards.plan_shards`; in one process parts gain
    nothing and cost a join). Inputs that cannot be scored become failures.

    Args:
        inputs: Files, directories and glob patterns, local or URLs.
        output: The output directory.
        config: The run's settings.
        identity: The bundle's version and threshold
            (:func:`sentiment.modeling.bundle_files.bundle_identity`).
        cut_large: Whether shards can run side by side (on a cluster).

    Returns:
        ``{"shards", "large", "skipped", "failures", "order", "files", "bytes",
        "removed"}``: shards and large-input manifests, skipped and failed results as
        dicts, the inputs' paths in order, how many files and bytes were found, and how
        many dead temporaries were removed.

    Raises:
        OutputError: If the output directory cannot be created or written.
    """
    output_dir = storage.location(output)
    removed = prepare_output_directory(output_dir)
    discovery = discover_inputs(inputs, output_dir=output_dir)
    files = discovery.manifests()
    plan = plan_shards(files, output_dir, identity, config, cut_large=cut_large)
    return {
        "shards": plan.shards,
        "large": plan.large,
        "skipped": [result.to_dict() for result in plan.skipped],
        "failures": [FileResult.failed(failure).to_dict() for failure in discovery.failures],
        "order": [item["path"] for item in files],
        "files": len(files),
        "bytes": sum(item["size"] for item in files),
        "removed": removed,
    }


def shard_label(shard: dict[str, Any]) -> str:
    """A shard's name: its first output's name and how many files follow, or the
    output and part number."""
    if shard["kind"] == "files":
        files = shard["files"]
        first = files[0]["output_name"] if files else "nothing"
        return first if len(files) <= 1 else f"{first}-and-{len(files) - 1}-more"
    return f"{shard['file']['output_name']}-part-{shard['index'] + 1}-of-{shard['count']}"


def score_shard(
    shard: dict[str, Any],
    output: str,
    model: ScoringModel,
    config: ScoringConfig,
    on_progress: RunProgress | None = None,
) -> dict[str, Any]:
    """Score one shard of :func:`plan_run`: a group of files, or a range of a large one
    into its part file. A bad file gives a failed result, never an exception.

    Args:
        shard: The shard.
        output: The output directory (prepared by :func:`plan_run`).
        model: The bundle that scores.
        config: The run's settings.
        on_progress: Told the share of the whole run done as the shard advances.

    Returns:
        ``{"results": [file result dicts]}`` for a group, or ``{"part": outcome}`` for
        a part (:func:`sentiment.scoring.parts.score_part`).
    """
    output_dir = storage.location(output)
    if shard["kind"] == "part":
        outcome = score_part(shard, output_dir, model, config)
        if on_progress is not None:
            manifest = shard["file"]
            done = (shard["index"] + 1) / shard["count"]
            on_progress(manifest["progress_offset"] + manifest["share"] * done)
        return {"part": outcome}
    results = []
    for manifest in shard["files"]:
        on_batch = None
        if on_progress is not None:
            offset, share = manifest["progress_offset"], manifest["share"]

            def on_batch(rows: int, fraction: float, offset=offset, share=share) -> None:
                on_progress(offset + share * fraction)

        item = InputFile.from_manifest(manifest)
        results.append(score_file(item, output_dir, model, config, on_batch=on_batch).to_dict())
    return {"results": results}


def collect_results(
    plan: dict[str, Any],
    outcomes: Sequence[dict[str, Any]],
    output: str,
    identity: Any,
    config: ScoringConfig,
) -> dict[str, list[dict[str, Any]]]:
    """Join each large input's parts into its one output and gather every input's
    result: the failures of discovery first, then the rest in input order.

    Args:
        plan: From :func:`plan_run`.
        outcomes: Each shard's outcome from :func:`score_shard`, in any order.
        output: The output directory.
        identity: The bundle's version and threshold.
        config: The run's settings.

    Returns:
        ``{"results": [...], "joined": [...]}``: every result as a dict, and those of
        the inputs joined from parts.
    """
    parts = [outcome["part"] for outcome in outcomes if "part" in outcome]
    joined = []
    for manifest in plan["large"]:
        seconds = sum(
            part["seconds"] for part in parts if part["output_name"] == manifest["output_name"]
        )
        result = assemble_parts(
            manifest, parts, storage.location(output), identity, config, seconds
        )
        joined.append(result.to_dict())
    position = {path: index for index, path in enumerate(plan["order"])}
    scored = [result for outcome in outcomes for result in outcome.get("results", [])]
    ordered = sorted(
        [*plan["skipped"], *joined, *scored],
        key=lambda result: position.get(result["input_path"], -1),
    )
    return {"results": [*plan["failures"], *ordered], "joined": joined}
