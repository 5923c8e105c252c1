"""Give a model folder a head for every shipped label set, fit on every "ship" category dataset mapped onto it.

    python scripts/transfer_heads.py src/affectkit/pretrained/default
    python scripts/transfer_heads.py src/affectkit/pretrained/fast

The encoder and the heads the model was trained with (GoEmotions, Ekman, VAD) are unchanged; each new head is a
linear map on the model's pooled vectors (affectkit.training.transfer). What each head was fit on is recorded under
``transfer_heads`` in the folder's training.json. Needs the train extra and the datasets in the data folder.
"""

from __future__ import annotations

import argparse

from affectkit.training.adapt import add_shipped_heads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--labelsets", nargs="*", help="only these label sets (default: all that need a head)")
    ap.add_argument("--l2", type=float, help="L2 penalty (default: the one the folder's transfer heads use, else 0.1)")
    ap.add_argument("--balance", type=float, default=1.0)
    ap.add_argument("--prior-power", type=float,
                    help="logit adjustment of the training mix's label prior (default: the folder's, else 0)")
    ap.add_argument("--prototype-scale", type=float,
                    help="weight of the label-name prototypes (default: the folder's, else 0)")
    ap.add_argument("--prompts", nargs="+",
                    help="the prototypes' prompt templates, {} for the label (default: the folder's, else "
                         "affectkit.training.transfer.PROMPTS)")
    args = ap.parse_args()
    add_shipped_heads(args.folder, args.labelsets, l2=args.l2, balance=args.balance, prior_power=args.prior_power,
                      prototype_scale=args.prototype_scale, prompts=args.prompts)


if __name__ == "__main__":
    main()
