"""Builds satea/data/catalogue.json from the public profiles in ../shared/data/profiles (sources cited per row there and carried into the catalogue). Not part of the installed package."""
import csv, json, math, statistics

import os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
# usage: python tools/build_catalogue.py [PROFILES_DIR]   (default: ../shared/data/profiles)
SRC = (sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "data", "profiles")) + "/"
OUT = os.path.join(HERE, "..", "satea", "data", "catalogue.json")
IDLE_FRACTION = 0.15
POWER_FRACTION = 0.85
OVERHEAD_GB = 1.0

gpu_rows = {r["gpu"]: r for r in csv.DictReader(open(SRC + "gpus.csv"))}
prof_rows = list(csv.DictReader(open(SRC + "model_profiles.csv")))
price_rows = list(csv.DictReader(open(SRC + "price.csv")))

# ------------------------------------------------------------------ GPUs
FAMILY = {  # source board name -> catalogue GPU type
    "K80 (1 GK210 die)": "K80",
    "P100 PCIe 16GB": "P100", "P100 SXM2 16GB": "P100", "P100 (variant n/s)": "P100",
    "V100 PCIe 32GB": "V100", "V100 SXM2 16GB": "V100", "V100 SXM2 32GB": "V100",
    "V100 (variant n/s)": "V100",
    "T4 16GB": "T4", "A10 24GB": "A10", "A40 48GB": "A40", "Quadro RTX 6000 24GB": "RTX6000",
    "A100 PCIe 40GB": "A100", "A100 SXM4 80GB": "A100", "A100 SXM4 40GB": "A100",
    "H100 PCIe 80GB": "H100", "H100 SXM5 80GB": "H100",
}
REPRESENTATIVE = {"K80": "K80 (1 GK210 die)", "P100": "P100 PCIe 16GB", "V100": "V100 PCIe 32GB",
                  "T4": "T4 16GB", "A10": "A10 24GB", "A40": "A40 48GB",
                  "RTX6000": "Quadro RTX 6000 24GB", "A100": "A100 PCIe 40GB",
                  "H100": "H100 PCIe 80GB"}
readings = {k: float(r["idle_w"]) / float(r["tdp_w"]) for k, r in gpu_rows.items() if r["idle_w"]}
ratio_note = ", ".join(f"{k} {v:.3f}" for k, v in sorted(readings.items(), key=lambda kv: kv[1]))
med = statistics.median(readings.values())
IDLE_RULE = (f"DERIVED idle_w = {IDLE_FRACTION} x tdp_w: the five idle readings in the source "
             f"table give idle/TDP = {ratio_note} (median {med:.3f}, rounded down to "
             f"{IDLE_FRACTION}); those readings are upper bounds on idle with a CUDA context "
             f"held, which is the state of a switched-on server between jobs")

gpus = {}
for fam, board in REPRESENTATIVE.items():
    if fam == "K80":
        r = gpu_rows["K80 (board, 2x GK210)"]
        tdp = float(r["tdp_w"]) / 2
        mem = float(r["memory_gb"]) / 2
        e = {"memory_gb": mem, "idle_w": round(IDLE_FRACTION * tdp, 2), "tdp_w": tdp,
             "board": "Tesla K80, one GK210 die (a K80 board holds two; benchmarks count one die as one GPU)",
             "source": r["source"],
             "derived": {"memory_gb": "DERIVED: 24 GB board / 2 dies (12 GB per die, common spec)",
                         "tdp_w": "DERIVED: 300 W board TDP / 2 dies",
                         "idle_w": IDLE_RULE}}
    else:
        r = gpu_rows[board]
        tdp = float(r["tdp_w"])
        e = {"memory_gb": float(r["memory_gb"]), "tdp_w": tdp, "board": board, "source": r["source"]}
        if r["idle_w"]:
            e["idle_w"] = float(r["idle_w"])
            e["measured"] = ["idle_w"]
            e["note"] = r["note"]
        else:
            e["idle_w"] = round(IDLE_FRACTION * tdp, 2)
            e["derived"] = {"idle_w": IDLE_RULE}
            if r["note"]:
                e["note"] = r["note"]
    e["tdp_w"] = float(e["tdp_w"])
    gpus[fam] = {k: e[k] for k in ["memory_gb", "idle_w", "tdp_w", "board", "source", "measured",
                                   "derived", "note"] if k in e}

# ------------------------------------------------------------------ models
MODEL = {"AlexNet": "AlexNet", "Inception-V3": "Inception-V3", "ResNet-50": "ResNet-50",
         "VGG16": "VGG16", "ResNet-152": "ResNet-152", "BERT-base (SQuAD fine-tune)": "BERT-base",
         "Transformer-XL base (WT103)": "Transformer-XL", "ResNet-18 (CIFAR-10)": "ResNet-18",
         "Transformer (Multi30k)": "Transformer", "LSTM LM (WikiText-2)": "LSTM",
         "GPT-2 small (124M)": "GPT-2"}
IMAGENET = {"dataset": "ImageNet-1k (ILSVRC-2012) training set", "epoch_samples": 1281167,
            "epoch_source": "ILSVRC-2012 train set size, as used in the Zeus trace "
                            "(github.com/ml-energy/zeus @75a8b93 zeus_nsdi23/trace)"}
# params (millions), bytes of training state per parameter, GB of saved activations per
# sample, and how the activation figure was reached.
SGD = (12, "FP32 weights + gradients + momentum = 12 B/param")
ADAM = (16, "FP32 weights + gradients + Adam m and v = 16 B/param")
MODEL_INFO = {
    "AlexNet": dict(params_m=61.1, state=SGD, act_gb=0.006, unit="images", **IMAGENET,
                    act_note="~1.5M floats per 224x224 image: layer outputs (~0.8M) kept with their pre-activations"),
    "Inception-V3": dict(params_m=23.8, state=SGD, act_gb=0.12, unit="images", **IMAGENET,
                         act_note="~30M floats per 299x299 image; bounded above by the largest FP32 batches the sources fit (192 on 32 GB, 224 on 40 GB)"),
    "ResNet-50": dict(params_m=25.6, state=SGD, act_gb=0.09, unit="images", **IMAGENET,
                      act_note="~22M floats per 224x224 image; consistent with NVIDIA's FP32 batch of 112 on a 16 GB V100"),
    "VGG16": dict(params_m=138.4, state=SGD, act_gb=0.1, unit="images", **IMAGENET,
                  act_note="~24M floats of forward activations per 224x224 image (layer output shapes)"),
    "ResNet-152": dict(params_m=60.2, state=SGD, act_gb=0.18, unit="images", **IMAGENET,
                       act_note="~2x ResNet-50 per image (3x the blocks, same widths)"),
    "BERT-base": dict(params_m=110.0, state=ADAM, act_gb=0.39, unit="sequences",
                      dataset="SQuAD v1.1 fine-tuning, 384-token sequences", epoch_samples=88641,
                      epoch_source="88,641 SQuAD v1.1 training features at seq 384 / stride 128 (assumption stated in the Zeus-derived rows of the source table)",
                      act_note="Korthikanti et al. 2022 (arXiv:2205.05198) per-layer activation bytes s*h*(34+5*a*s/h) in 16-bit, s=384, h=768, a=12, x1.7 for FP32, 12 layers"),
    "Transformer-XL": dict(params_m=151.0, state=ADAM, act_gb=0.2, unit="tokens",
                           dataset="WikiText-103 language modelling (throughput in tokens/s)",
                           epoch_samples=103227021,
                           epoch_source="WikiText-103 training tokens (Merity et al. 2016, arXiv:1609.07843)",
                           act_note="per 192-token segment with 192-token memory: Korthikanti formula, h=410, a=10, 16 layers, FP32; memory figure counts a batch of segments"),
    "ResNet-18": dict(params_m=11.2, state=SGD, act_gb=0.006, unit="images",
                      dataset="CIFAR-10 training set", epoch_samples=50000,
                      epoch_source="CIFAR-10: 50,000 training images (Krizhevsky 2009)",
                      act_note="~1.5M floats per 32x32 image (64-512 channels at 32x32 down to 4x4)"),
    "Transformer": dict(params_m=50.0, state=ADAM, act_gb=0.02, unit="sentences",
                        dataset="Multi30k translation", epoch_samples=29000,
                        epoch_source="Multi30k: 29,000 training sentence pairs (Elliott et al. 2016, arXiv:1605.00459)",
                        act_note="6+6-layer d=512 Transformer, ~30-token sentences, Korthikanti formula in FP32 plus output logits; params depend on the vocabulary (ESTIMATED ~50M)"),
    "LSTM": dict(params_m=13.5, state=SGD, act_gb=0.0095, unit="sequences",
                 dataset="WikiText-2 language modelling (sequences of bptt = 35 tokens)",
                 epoch_samples=59675,
                 epoch_source="DERIVED: 2,088,628 WikiText-2 training tokens (Merity et al. 2016, arXiv:1609.07843) / bptt 35 (the PyTorch word_language_model default, assumed)",
                 act_note="assumes the PyTorch word_language_model example defaults (2-layer LSTM, 200 units, bptt 35, vocabulary 33,278): the output logits dominate (35 x 33,278 floats, kept with their gradient)"),
    "GPT-2": dict(params_m=124.0, state=(16, "BF16 weights and gradients, FP32 master weights and AdamW m, v = 16 B/param (llm.c)"),
                  act_gb=0.5, unit="sequences of 1024 tokens",
                  dataset="llm.c GPT-2 (124M) pre-training",
                  act_note="16-bit activations without the attention-score term (fused attention): 34*s*h bytes per layer, s=1024, h=768, 12 layers, plus the 50,304-way logits"),
}

# ------------------------------------------------------------------ profile selection
SUITES = [  # order = preference: earlier suites cover more GPU types per model
    ("tf_cnn_benchmarks", ("tensorflow/tensorflow", "lambda-tensorflow-benchmark")),
    ("NGC PyTorch (Lambda)", ("lambdal/deeplearning-benchmark",)),
    ("Zeus traces", ("ml-energy/zeus",)),
    ("NVIDIA DeepLearningExamples", ("NVIDIA/DeepLearningExamples",)),
    ("Gavel", ("stanford-futuredata/gavel",)),
    ("AdaptDL/Pollux", ("siasosp23/artifacts",)),
    ("llm.c", ("karpathy/llm.c",)),
]

def suite_rank(src):
    for i, (_, keys) in enumerate(SUITES):
        if any(k in src for k in keys):
            return i
    raise KeyError(src)

def precision_rank(p):
    p0 = p.strip()
    if p0.startswith("FP32") or p0 == "TF32" or p0.startswith("not stated"):
        return 0
    return 1

def board_rank(board, fam):
    if board == REPRESENTATIVE[fam]:
        return 0
    return 1 if "n/s" in board else 2

SELECTION_RULE = [
    "one profile per (model, GPU type); among the source rows for a pair the first by:",
    "1. precision: FP32 (TF32 on A100/H100; rows with precision not stated in the trace are PyTorch defaults, presumed FP32) before mixed precision (AMP/FP16/BF16): FP32 exists on every GPU type (K80 and P100 have no tensor cores), so speed ratios between GPU types stay comparable; a mixed-precision row is used only where no FP32 row exists",
    "2. benchmark suite, in this order: " + ", ".join(s for s, _ in SUITES) + ": the first suites cover the most GPU types per model, so a model's speed ratios between GPU types come from one harness where possible",
    "3. board: the GPU type's representative board (see gpus[*].board), then an unspecified variant, then a sibling board of the same family (noted in the profile)",
    "4. measured power before derived power; then table order",
]

cands = {}
for i, r in enumerate(prof_rows):
    fam = FAMILY[r["gpu"]]
    m = MODEL[r["model"]]
    cands.setdefault((m, fam), []).append((precision_rank(r["precision"]), suite_rank(r["source"]),
                                           board_rank(r["gpu"], fam),
                                           0 if "power MEASURED" in r["note"] else 1, i, r))

profiles = []
for (m, fam), lst in cands.items():
    lst.sort(key=lambda t: t[:5])
    r = lst[0][-1]
    others = [f"{x[-1]['gpu']}, {x[-1]['precision']}, {SUITES[x[1]][0]}: {x[-1]['throughput_samples_per_s']}/s"
              for x in lst[1:]]
    thr = float(r["throughput_samples_per_s"])
    pw = float(r["power_w"])
    bs = int(r["batch_size"])
    parts = [p.strip() for p in r["note"].split(";")]
    keep, thr_how, pw_how = [], [], []
    for p in parts:
        if ("power_w DERIVED" in p or "Zeus measured avg power" in p
                or p.endswith("P100/V100/A40/RTX6000)") or p == "throughput DERIVED (see note)"):
            continue
        if p.startswith("power MEASURED"):
            pw_how.append(p)
        elif p.startswith("throughput =") or "steps/s x batch" in p:
            thr_how.append(p)
        elif p.startswith("step_time"):
            thr_how.append(f"batch {bs} / {p}")
        elif p.startswith("= 218,453"):
            thr_how.append("524,288 tokens per step / ~0.3 s per step / 8 GPUs = 218,453 tokens/s per GPU "
                           "(8-GPU data-parallel run divided by 8) = 213.3 sequences of 1024 tokens per s")
        else:
            keep.append(p)
    measured, derived = [], {}
    if pw_how:
        measured.append("power_w")
    else:
        tdp = round(pw / POWER_FRACTION, 1)
        derived["power_w"] = (f"DERIVED = {POWER_FRACTION} x {tdp:g} W, the TDP of the board the row ran on "
                              f"({r['gpu']}): an assumption; Zeus measured average training power "
                              f"of 0.66-0.91 x the power limit for ResNet-50/BERT on P100/V100/A40/RTX6000")
    if thr_how:
        derived["throughput"] = "DERIVED from the source's figures: " + "; ".join(thr_how)
    else:
        measured.insert(0, "throughput")
    if pw_how:
        keep.insert(0, pw_how[0] + " (Zeus trace)")
    why = []
    if lst[0][0] == 1:
        why.append("only mixed-precision rows exist for this pair, so it runs relatively faster than the FP32 rows of other GPU types")
    if lst[0][2] == 2:
        why.append(f"ran on a sibling board ({r['gpu']}) of the representative {REPRESENTATIVE[fam]}: throughput and power are that board's")
    if lst[0][2] == 1:
        why.append("source does not state the board variant")
    e = {"model": m, "gpu": fam, "throughput": thr, "power_w": pw, "batch_size": bs,
         "precision": r["precision"], "framework": r["framework"], "board": r["gpu"],
         "source": r["source"], "measured": measured}
    if derived:
        e["derived"] = derived
    e["selection"] = ("the only source row for this pair" if not others else
                      f"{len(lst)} source rows for this pair; chosen by conventions.selection_rule "
                      f"(precision, then suite, then board). Not chosen: " + "; ".join(others))
    if why:
        e["caveat"] = "; ".join(why)
    if keep:
        e["note"] = "; ".join(keep)
    profiles.append(e)

order_m = list(MODEL_INFO)
order_g = list(REPRESENTATIVE)
profiles.sort(key=lambda e: (order_m.index(e["model"]), order_g.index(e["gpu"])))

models = {}
for m, info in MODEL_INFO.items():
    bss = [p["batch_size"] for p in profiles if p["model"] == m]
    b = min(bss)
    per_param, state_note = info["state"]
    mem = OVERHEAD_GB + info["params_m"] * 1e6 * per_param / 1e9 + b * info["act_gb"]
    mem = round(mem, 1)
    e = {"memory_gb": mem, "sample_unit": info["unit"], "dataset": info["dataset"]}
    if "epoch_samples" in info:
        e["epoch_samples"] = info["epoch_samples"]
    e["params_m"] = info["params_m"]
    e["memory_batch_size"] = b
    e["source"] = ("memory_gb: no public source; ESTIMATED (see estimated.memory_gb). "
                   + ("epoch_samples: " + info["epoch_source"] if "epoch_source" in info else ""))
    if info.get("epoch_source", "").startswith("DERIVED"):
        e["derived"] = {"epoch_samples": info["epoch_source"]}
    e["estimated"] = {"memory_gb": (
        f"ESTIMATED = {OVERHEAD_GB:g} GB CUDA context and workspaces + {info['params_m']}M params x {per_param} B "
        f"({state_note}) + batch {b} x {info['act_gb']} GB activations per sample ({info['act_note']}). "
        f"Batch {b} is the smallest batch among this model's catalogue profiles, so every profiled "
        f"configuration is at least this large")}
    models[m] = e

# per-profile sanity: estimate at the profile's batch vs the board's memory
board_mem = {k: float(v["memory_gb"]) for k, v in gpu_rows.items()}
board_mem["K80 (1 GK210 die)"] = 12.0
for p in profiles:
    info = MODEL_INFO[p["model"]]
    est = OVERHEAD_GB + info["params_m"] * 1e6 * info["state"][0] / 1e9 + p["batch_size"] * info["act_gb"]
    if "FP16" in p["precision"] or "AMP" in p["precision"] or "BF16" in p["precision"]:
        est = OVERHEAD_GB + info["params_m"] * 1e6 * info["state"][0] / 1e9 + p["batch_size"] * info["act_gb"] / 2
    bm = board_mem.get(p["board"], None)
    print(f"{p['model']:15s} {p['gpu']:8s} bs={p['batch_size']:5d} est={est:6.1f} board={bm}  {p['board']}"
          + ("  OVER" if bm and est > bm * 1.05 else ""))

price = {"step_s": 3600,
         "prices_per_kwh": [round(float(r["price_usd_per_mwh"]) / 1000.0, 7) for r in price_rows],
         "currency": "USD", "start": price_rows[0]["timestamp_local"] + " (local time, hour 0 of the week)",
         "market": price_rows[0]["market"],
         "source": ("epftoolbox PJM dataset (Lago et al., 'Forecasting day-ahead electricity prices: "
                    "a review of state-of-the-art algorithms, best practices and an open-access "
                    "benchmark', Applied Energy 293:116983, 2021; data doc zenodo.org/records/4624805): "
                    + price_rows[0]["source"] + "; one week 2017-07-17 to 2017-07-23, hourly; USD/MWh / 1000"),
         "note": "wholesale day-ahead energy prices (no network charges or taxes), hence lower than retail tariffs"}
assert len(price["prices_per_kwh"]) == 168
assert [int(r["hour_of_week"]) for r in price_rows] == list(range(168))

# a node's host power while on (docs/model.md, part 2): no public idle measurement of a GPU
# node with its GPUs taken out was found, so the generator's figures (satea.generate.
# NODE_BASE_W) are ESTIMATED, bounded by these public figures
BASE_W = {
    "values_w": {"1": 150, "2": 250, "4": 400, "8": 1000},
    "status": "ESTIMATED (no public idle measurement of a GPU node's host alone was found); sweep 0.5x-2x in sensitivity runs",
    "rule": "8 GPUs: about 0.3 x the DERIVED non-GPU maximum of an 8-GPU A100 system (6500 W - 8 x 400 W = 3300 W); 1-4 GPUs: MEASURED idle of 2-socket servers (52-86 W minimal SPECpower systems, 87-252 W metered HPC servers) plus fans, NIC and risers per GPU",
    "sources": [
        "DGX-1 (8 x V100): system power 3500 W (run.ai/guides/nvidia-a100/nvidia-dgx); 3500 - 8 x 300 W = 1100 W non-GPU maximum, DERIVED",
        "DGX A100: maximum 6500 W (NVIDIA DGX A100 documentation as quoted by pcnews.ru); 6500 - 8 x 400 W = 3300 W non-GPU maximum, DERIVED",
        "DGX H100: maximum 10.2 kW (DGX H100 user guide; Latif et al., arXiv 2412.08602, abstract); 10.2 kW - 8 x 700 W = 4600 W non-GPU maximum, DERIVED; the same paper measured 8.4 kW peak while training",
        "SPECpower_ssj2008 active idle: Dell R740 52.3 W (power_ssj2008-20170829-00780), R640 55 W (-20170829-00781), R830 86.4 W (-20160705-00737), MEASURED",
        "Dell HPC System for Manufacturing, System Architecture and Application Performance, section 5, Fig. 39, p. 43: idle 87-210 W (CPU nodes), 189-252 W (GPU building block) at a metered PDU, MEASURED",
    ],
}

cat = {
    "format": "satea-catalogue/1",
    "description": ("satea's built-in catalogue: GPU types, DNN training profiles and an electricity "
                    "price curve from public sources. Units: GB, W, samples/s (a model's sample_unit), "
                    "currency/kWh. Every figure carries its source; DERIVED and ESTIMATED values say how."),
    "conventions": {
        "selection_rule": SELECTION_RULE,
        "power_w": f"MEASURED where the profile's 'measured' lists it (Zeus traces: average GPU power); otherwise DERIVED = {POWER_FRACTION} x board TDP",
        "idle_w": "MEASURED readings are upper bounds (lowest power seen under light load, or one nvidia-smi reading); otherwise " + IDLE_RULE,
        "memory_gb (models)": "no public source: ESTIMATED per model, see each model's 'estimated'",
        "gpus": "one entry per GPU family, described by its representative board (PCIe card where the family has one); profiles say which board they ran on",
        "excluded": "L4 24GB (72 W): no training throughput in the sources; other rows of the source table not chosen by the selection rule are listed in each profile's 'selection'",
        "base_w (nodes)": BASE_W,
    },
    "gpus": gpus,
    "models": models,
    "profiles": profiles,
    "price_curves": {"pjm_2017_07_17": price},
}
with open(OUT, "w") as f:
    json.dump(cat, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(json.dumps(gpus, indent=1)[:3000])
for m, e in models.items():
    print(m, e["memory_gb"], e["memory_batch_size"])
