"""A home holding one tiny real bundle as its champion, for flow and command tests."""

from __future__ import annotations

from pathlib import Path


def promoted_home(home: Path, texts: list[str], max_length: int = 8) -> Path:
    """Save a small mlp fitted on ``texts`` under ``home`` and promote it to champion.

    Returns:
        ``home``.
    """
    from sentiment.encoding.config import VectorizerConfig
    from sentiment.encoding.vocabulary import fit_vectorizer
    from sentiment.modeling.bundle import new_version, save_bundle
    from sentiment.modeling.zoo import build_model
    from tests.support.registry import promote_bundle

    vectorizer = fit_vectorizer(texts, VectorizerConfig(num_words=30, max_length=max_length))
    version = new_version("mlp")
    save_bundle(
        home / "models" / version,
        build_model("mlp", vectorizer.config),
        vectorizer,
        {"model": {"name": "mlp"}},
    )
    promote_bundle(home, version, texts)
    return home
