"""`cmhl train --recipe FILE`."""

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a CMHL checkpoint from a TOML recipe")
    p.add_argument("--recipe", required=True, type=Path, help="recipe file, e.g. model/recipes/smoke.toml")
    p.add_argument("--output", type=Path, help="checkpoint folder (overrides the recipe's output_dir)")
    p.add_argument("--seed", type=int, help="override the recipe's seed")
    p.add_argument("--epochs", type=int, help="override the recipe's epochs")
    p.add_argument("--data", type=Path, help="data folder (overrides the recipe's data_dir)")
    p.set_defaults(func=run)


def run(args) -> int:
    from cmhl.config import TrainConfig
    from cmhl.training import train

    cfg = TrainConfig.from_toml(args.recipe)
    for key, val in (
        ("output_dir", args.output),
        ("seed", args.seed),
        ("epochs", args.epochs),
        ("data_dir", args.data),
    ):
        if val is not None:
            setattr(cfg, key, str(Path(val).resolve()) if isinstance(val, Path) else val)
    cfg.__post_init__()
    train(cfg)
    return 0
