"""``sebench vq-margin``: paper 001's Fig. 5, the triplet margin of a VQ-VAE against SNR."""
from sebench.cli.common import bounded, make_parser

EXAMPLE = """\
sebench vq-margin exp/vqvae data/vqvae_valid --out exp/vqvae/margin
sebench vq-margin exp/vqvae.zip data/valid --max-utts 200 --bin-db 2 --out margin"""


def build_parser(prog):
    p = make_parser(prog, "Average embedding triplet margin d(e, q_s) - d(e, q_n) of a trained "
                          "split-codebook VQ-VAE (sebench train --method vqvae) for every "
                          "mixture of a paired data dir (wav, clean and noise scp), against "
                          "its global SNR. A VQ-VAE that learnt to separate speech from noise "
                          "gives a margin that falls as the SNR rises (negative slope). "
                          "Writes margin.csv, summary.json (slope per dB, Pearson r, mean per "
                          "SNR bin) and margin_vs_snr.png to --out.", EXAMPLE)
    p.add_argument("vqvae", help="the VQ-VAE: experiment dir, model dir or packed zip")
    p.add_argument("data", help="paired data dir with wav.scp, clean.scp and noise.scp")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--max-utts", type=bounded(int, 1), help="use only the first N utterances")
    p.add_argument("--bin-db", type=bounded(float, 0.1), default=5.0,
                   help="SNR bin width of the summary and the figure's mean line")
    return p


def run(args, rest):
    import json

    from sebench.cli.common import no_extra_args
    from sebench.results.vq_margin import write_margin_report

    no_extra_args(rest)
    summary = write_margin_report(args.vqvae, args.data, args.out, args.max_utts, args.bin_db)
    print(json.dumps({k: summary[k] for k in ("utterances", "slope_per_db", "pearson")}))
    return 0
