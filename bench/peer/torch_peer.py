"""PyTorch peer of `npm run bench -- --torch <python>` (issue 10).

  python bench/peer/torch_peer.py --check          -> one JSON line: {"ok": bool, "versions": {...}, "missing": [...]}
  python bench/peer/torch_peer.py SPEC.json        -> one JSON line per timed case

SPEC (written by bench/lib/peer.ts): {"threads": N, "repeats": R, "cases": [{"component", "dir", "inputs"}]}; every
`dir` holds the weights the bench generated, in upstream key names (model.safetensors) and the upstream
config.json, so the upstream classes load them unchanged (strict). Times torch.no_grad() forwards with the
same shapes and thread count as the bench (UNet CFG step, VAE decode, vocoder; ImageBind audio when the
`imagebind` package imports).
"""
import json
import sys
import time


def check():
    out = {"ok": True, "versions": {}, "missing": []}
    for mod in ("torch", "safetensors", "diffusers", "transformers"):
        try:
            m = __import__(mod)
            out["versions"][mod] = getattr(m, "__version__", "?")
        except Exception as e:  # noqa: BLE001 - report any import failure
            out["ok"] = False
            out["missing"].append(f"{mod}: {type(e).__name__}: {e}")
    for mod in ("torchaudio", "imagebind"):
        try:
            m = __import__(mod)
            out["versions"][mod] = getattr(m, "__version__", "present")
        except Exception as e:  # noqa: BLE001
            out["missing"].append(f"{mod} (optional: ImageBind / guidance cases skipped): {type(e).__name__}: {e}")
    print(json.dumps(out))


def load(component, d):
    import torch
    from safetensors.torch import load_file

    cfg = json.load(open(f"{d}/config.json"))
    sd = load_file(f"{d}/model.safetensors")
    if component in ("unet",):
        from diffusers import UNet2DConditionModel

        m = UNet2DConditionModel.from_config(cfg)
    elif component in ("vae-decode",):
        from diffusers import AutoencoderKL

        m = AutoencoderKL.from_config(cfg)
    elif component == "vocoder":
        from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

        m = SpeechT5HifiGan(SpeechT5HifiGanConfig(**cfg))
    elif component.startswith("ib-"):
        from imagebind.models import imagebind_model

        m = imagebind_model.imagebind_huge(pretrained=False)
    else:
        raise ValueError(component)
    missing, unexpected = m.load_state_dict(sd, strict=not component.startswith("ib-"))
    if unexpected:
        raise ValueError(f"unexpected keys: {unexpected[:5]}")
    return m.eval()


def run(spec_path):
    import torch

    spec = json.load(open(spec_path))
    torch.set_num_threads(spec["threads"])
    for c in spec["cases"]:
        comp = c["component"]
        try:
            m = load(comp, c["dir"])
            ins = {k: torch.from_numpy(__import__("numpy").fromfile(v["file"], dtype=v["dtype"]).reshape(v["shape"])) for k, v in c["inputs"].items()}
            if comp == "unet":
                f = lambda: m(ins["sample"], ins["timestep"].long(), class_labels=ins["class_labels"]).sample  # noqa: E731
            elif comp == "vae-decode":
                f = lambda: m.decode(ins["z"]).sample  # noqa: E731
            elif comp == "vocoder":
                f = lambda: m(ins["mel"])  # noqa: E731
            elif comp == "ib-audio":
                f = lambda: m({"audio": ins["audio"]})["audio"]  # noqa: E731
            else:
                raise ValueError(comp)
            times = []
            with torch.no_grad():
                f()
                for _ in range(spec["repeats"]):
                    t0 = time.perf_counter()
                    f()
                    times.append((time.perf_counter() - t0) * 1e3)
            times.sort()
            print(json.dumps({"component": comp, "shape": c["shape"], "medianMs": times[len(times) // 2],
                              "minMs": times[0], "maxMs": times[-1], "threads": spec["threads"]}), flush=True)
        except Exception as e:  # noqa: BLE001
            print(json.dumps({"component": comp, "error": f"{type(e).__name__}: {e}"}), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        check()
    else:
        run(sys.argv[1])
