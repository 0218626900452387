"""One properties file per model folder, named for it, as in jaffle-shop: a model's description,
tests and unit tests are found in `_<folder>__models.yml` beside it, nowhere else."""

from __future__ import annotations

from tertulia.dbt_runner import PROJECT_DIR

MODELS = PROJECT_DIR / "models"


def test_each_model_folder_has_one_models_file_named_for_it():
    folders = sorted({p.parent for p in MODELS.rglob("*.sql")})
    assert len(folders) >= 10  # staging, intermediate and marts subfolders: the walk found them
    wrong = {}
    for folder in folders:
        files = sorted(p.name for p in folder.glob("*.yml") if not p.name.endswith("__sources.yml"))
        if files != [f"_{folder.name}__models.yml"]:
            wrong[str(folder.relative_to(MODELS))] = files
    assert wrong == {}, "one _<folder>__models.yml per folder (sources may have their own file)"
