"""Reference FFF trainer (torch): soft training, hardening, load balancing and the master leaf.

This is the training procedure of "Fast Feedforward Networks" (Belcak and Wattenhofer, 2023) with
the two additions of "Enhancing Fast Feed Forward Networks with Load Balancing and a Master Leaf
Node" (2024), written so that the saved ``state_dict`` has exactly the keys, shapes and meaning of
the authors' checkpoints, which is what ``pyfff.convert`` reads:

* training: each node decides ``sigmoid(w . x + b)`` (probability of the right child 2n+2); a
  leaf's probability is the product of the decisions on its path; the output is the mixture of all
  leaf MLPs weighted by those probabilities;
* evaluation: hard descent, ``score >= 0`` goes to 2n+2 (FORMAT.md §14.1), one leaf per record;
* hardening loss: ``beta * mean over batch and nodes of the binary entropy of the decisions``;
* load-balancing loss (Switch Transformer style): ``alpha * L * sum_i f_i * P_i`` with ``f_i`` the
  fraction of the batch that hard descent routes to leaf ``i`` (no gradient) and ``P_i`` the mean
  soft probability of leaf ``i``; it is ``alpha`` when routing is uniform and grows as it skews;
* master leaf: an MLP every record passes through, mixed as ``s * leaf + (1 - s) * master`` with
  ``s = sigmoid(k)`` and ``k`` learned (initialised at 0.5 as the authors do).

The schedule is the authors': balance epochs (cross-entropy + hardening + load balancing), then,
starting again from the best checkpoint so far, hardening epochs (cross-entropy + a stronger
hardening weight, no load balancing). The checkpoint kept is the best by hard-descent accuracy
on the *validation* split (the authors selected on the test set; we do not).

Accuracies are computed by :func:`hard_forward`, in float64 from the float32 parameters, exactly
as ``pyfff.reference`` evaluates the exported file, so the figures printed by the trainer are the
figures any conforming runtime reproduces (up to §14.3 near-ties, which are counted and reported).

This module imports torch; ``pyfff/__init__`` must never import it.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .digits import Dataset, preprocess

__all__ = [
    "ENTROPY_EPSILON",
    "FFFModule",
    "HardResult",
    "TrainConfig",
    "TrainResult",
    "binary_entropy",
    "hard_forward",
    "hardening_loss",
    "leaf_probabilities",
    "load_balancing_loss",
    "mix_master",
    "train",
    "usage_metrics",
]

# The authors clamp decisions to [eps, 1 - eps] before taking logarithms.
ENTROPY_EPSILON = 1e-6
NEAR_TIE_RTOL = 1e-5  # FORMAT.md §14.3


def binary_entropy(p: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of Bernoulli(p), element-wise, with p clamped away from 0 and 1."""
    p = torch.clamp(p, ENTROPY_EPSILON, 1 - ENTROPY_EPSILON)
    q = torch.clamp(1 - p, ENTROPY_EPSILON, 1 - ENTROPY_EPSILON)
    return -p * torch.log(p) - q * torch.log(q)


def hardening_loss(decisions: torch.Tensor, beta: float) -> torch.Tensor:
    """``beta`` times the mean binary entropy of node decisions (batch, N); 0 for depth 0."""
    if decisions.numel() == 0:
        return decisions.new_zeros(())
    return beta * binary_entropy(decisions).mean()


def leaf_probabilities(decisions: torch.Tensor, depth: int) -> torch.Tensor:
    """Probability of each leaf (batch, 2**depth) from right-child probabilities (batch, N).

    Level ``t`` holds nodes ``2**t - 1 ... 2**(t+1) - 2``; the node at position ``j`` of its level
    has its children at positions ``2j`` (left, 2n+1) and ``2j + 1`` (right, 2n+2) of the next
    level, so interleaving ``(1 - d, d)`` keeps leaves in heap order: leaf ``j`` is node ``j + N``.
    With 0/1 decisions this is the one-hot of the hard leaf.
    """
    batch = decisions.shape[0]
    probs = decisions.new_ones((batch, 1))
    for t in range(depth):
        d = decisions[:, (1 << t) - 1 : (1 << (t + 1)) - 1]
        probs = torch.stack((probs * (1 - d), probs * d), dim=-1).reshape(batch, 1 << (t + 1))
    return probs


def load_balancing_loss(soft_probs: torch.Tensor, hard_leaves: torch.Tensor, alpha: float) -> torch.Tensor:
    """``alpha * L * sum_i f_i * P_i`` (Switch Transformer's auxiliary loss over the leaves).

    ``soft_probs`` (batch, L) are the soft leaf probabilities; ``hard_leaves`` (batch,) the leaf
    hard descent picks. ``f_i`` carries no gradient; the loss pushes ``P`` away from crowded leaves.
    """
    n_leaves = soft_probs.shape[1]
    f = torch.bincount(hard_leaves, minlength=n_leaves).to(soft_probs.dtype) / soft_probs.shape[0]
    p = soft_probs.mean(dim=0)
    return alpha * n_leaves * torch.sum(f.detach() * p)


def mix_master(leaf_out: torch.Tensor, master_out: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """``s * leaf + (1 - s) * master`` with ``s = sigmoid(k)`` (FORMAT.md §14.2)."""
    s = torch.sigmoid(k)
    return s * leaf_out + (1 - s) * master_out


class FFFModule(nn.Module):
    """An FFF layer whose ``state_dict`` matches the authors' checkpoints key for key.

    ``master_width = 0`` builds the original FFF (no ``magic_*`` tensors and no ``k``, as in the
    authors' load-balancing-only checkpoint). Usage statistics are buffers filled by
    :meth:`record_usage`.
    """

    def __init__(
        self,
        input_width: int,
        leaf_width: int,
        output_width: int,
        depth: int,
        master_width: int = 8,
        activation: Callable[[torch.Tensor], torch.Tensor] = torch.relu,
    ) -> None:
        super().__init__()
        if min(input_width, leaf_width, output_width) <= 0 or depth < 0 or master_width < 0:
            raise ValueError("widths must be positive, depth and master width non-negative")
        self.input_width, self.leaf_width, self.output_width = input_width, leaf_width, output_width
        self.n_depth, self.master_width, self.activation = depth, master_width, activation
        self.n_leaves, self.n_nodes = 1 << depth, (1 << depth) - 1
        # The authors' initialisation: U(-1/sqrt(I), 1/sqrt(I)) for everything that reads x,
        # U(-1/sqrt(l), 1/sqrt(l)) for the output layers.
        a, b = 1.0 / math.sqrt(input_width), 1.0 / math.sqrt(leaf_width)

        def u(shape: tuple[int, ...], bound: float) -> nn.Parameter:
            return nn.Parameter(torch.empty(shape, dtype=torch.float32).uniform_(-bound, bound))

        L, N, I, O = self.n_leaves, self.n_nodes, input_width, output_width
        self.register_buffer("depth", torch.tensor(depth, dtype=torch.int64))
        self.node_weights = u((N, I), a)
        self.node_biases = u((N, 1), a)
        self.w1s = u((L, I, leaf_width), a)
        self.b1s = u((L, leaf_width), a)
        self.w2s = u((L, leaf_width, O), b)
        self.b2s = u((L, O), b)
        if master_width:
            m = 1.0 / math.sqrt(master_width)
            self.magic_w1 = u((1, I, master_width), a)
            self.magic_b1 = u((1, master_width), a)
            self.magic_w2 = u((1, master_width, O), m)
            self.magic_b2 = u((1, O), m)
            self.k = nn.Parameter(torch.tensor(0.5, dtype=torch.float32))
        self.register_buffer("node_usage", torch.zeros(N))
        self.register_buffer("leaf_usage", torch.zeros(L))
        self.register_buffer("f", torch.zeros(L))

    def decisions(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Node scores ``x . w + b`` and soft right-child probabilities, both (batch, N)."""
        scores = x @ self.node_weights.T + self.node_biases.T
        return scores, torch.sigmoid(scores)

    def hard_leaves(self, scores: torch.Tensor) -> torch.Tensor:
        """Leaf reached by descent (§14.1) given every node's score (batch, N)."""
        node = torch.zeros(scores.shape[0], dtype=torch.long, device=scores.device)
        for _ in range(self.n_depth):
            right = scores.gather(1, node.unsqueeze(1)).squeeze(1) >= 0
            node = 2 * node + 1 + right.long()
        return node - self.n_nodes

    def master(self, x: torch.Tensor) -> torch.Tensor:
        h = self.activation(x @ self.magic_w1[0] + self.magic_b1[0])
        return h @ self.magic_w2[0] + self.magic_b2[0]

    def training_forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Soft mixture over all leaves: (outputs, decisions, leaf probabilities, hard leaves)."""
        scores, d = self.decisions(x)
        probs = leaf_probabilities(d, self.n_depth)
        h = self.activation(torch.einsum("bi,lih->blh", x, self.w1s) + self.b1s)
        y = torch.einsum("blh,lho->blo", h, self.w2s) + self.b2s
        out = torch.einsum("bl,blo->bo", probs, y)
        if self.master_width:
            out = mix_master(out, self.master(x), self.k)
        return out, d, probs, self.hard_leaves(scores.detach())

    def eval_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Hard descent in float32 the way the authors' ``eval_forward`` does it (gathers per record).

        Kept for measuring PyTorch's inference cost; accuracies use :func:`hard_forward`.
        """
        node = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        for _ in range(self.n_depth):
            w = self.node_weights.index_select(0, node)
            b = self.node_biases.index_select(0, node)
            score = torch.bmm(x.unsqueeze(1), w.unsqueeze(-1)).squeeze(-1) + b
            node = 2 * node + 1 + (score.squeeze(-1) >= 0).long()
        leaves = node - self.n_nodes
        h = self.activation(torch.einsum("bi,bih->bh", x, self.w1s[leaves]) + self.b1s[leaves])
        y = torch.einsum("bh,bho->bo", h, self.w2s[leaves]) + self.b2s[leaves]
        if self.master_width:
            y = mix_master(y, self.master(x), self.k)
        return y

    @torch.no_grad()
    def record_usage(self, x: torch.Tensor) -> None:
        """Fill the usage buffers over ``x`` (the whole training split).

        ``f``: records hard descent sends to each leaf; ``leaf_usage``: summed soft leaf
        probabilities; ``node_usage``: records whose hard descent passes through each node.
        (The authors record these on the last training batch only; whole-split counts say more.)
        """
        scores, d = self.decisions(x)
        leaves = self.hard_leaves(scores)
        self.f.copy_(torch.bincount(leaves, minlength=self.n_leaves).float())
        self.leaf_usage.copy_(leaf_probabilities(d, self.n_depth).sum(0))
        usage = torch.zeros(self.n_nodes)
        node = torch.zeros(x.shape[0], dtype=torch.long)
        for _ in range(self.n_depth):
            usage += torch.bincount(node, minlength=self.n_nodes).float()
            right = scores.gather(1, node.unsqueeze(1)).squeeze(1) >= 0
            node = 2 * node + 1 + right.long()
        self.node_usage.copy_(usage)


@dataclass
class HardResult:
    """Hard-descent evaluation in float64: outputs, leaves, argmax and §14.3 near-ties."""

    outputs: np.ndarray
    leaves: np.ndarray
    argmax: np.ndarray
    near_tie: np.ndarray


def hard_forward(state: dict[str, Any], x: np.ndarray) -> HardResult:
    """FORMAT.md §14 in float64 on preprocessed ``x`` (n, I), from a state_dict's float32 values.

    This is the trainer's yardstick: the same arithmetic as ``pyfff.reference`` on the exported
    file, so "the accuracy the trainer reports" is what every conforming runtime reproduces.
    """

    def a(key: str) -> np.ndarray:
        v = state[key]
        v = v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
        return v.astype(np.float64)

    x = np.asarray(x, dtype=np.float64)
    d = state["depth"]
    depth = int(d.item() if isinstance(d, torch.Tensor) else np.asarray(d).item())
    n = x.shape[0]
    node = np.zeros(n, dtype=np.int64)
    near = np.zeros(n, dtype=bool)
    if depth:
        w, b = a("node_weights"), a("node_biases").reshape(-1)
        for _ in range(depth):
            wn = w[node]
            score = np.einsum("ri,ri->r", wn, x) + b[node]
            near |= np.abs(score) <= NEAR_TIE_RTOL * (1 + np.abs(wn * x).sum(1) + np.abs(b[node]))
            node = np.where(score >= 0, 2 * node + 2, 2 * node + 1)
    leaves = node - ((1 << depth) - 1)
    w1, b1, w2, b2 = a("w1s"), a("b1s"), a("w2s"), a("b2s")
    h = np.maximum(np.einsum("ri,rih->rh", x, w1[leaves]) + b1[leaves], 0.0)
    out = np.einsum("rh,rho->ro", h, w2[leaves]) + b2[leaves]
    if "magic_w1" in state:
        k = float(a("k"))
        s = 1.0 / (1.0 + math.exp(-k)) if k >= 0 else math.exp(k) / (1.0 + math.exp(k))
        m = np.maximum(x @ a("magic_w1")[0] + a("magic_b1")[0], 0.0) @ a("magic_w2")[0] + a("magic_b2")[0]
        out = s * out + (1.0 - s) * m
    return HardResult(out, leaves, np.argmax(out, axis=1), near)


def usage_metrics(counts: np.ndarray) -> dict[str, float]:
    """Normalised entropy of a leaf histogram (1 = uniform, 0 = one leaf) and unused leaves."""
    counts = np.asarray(counts, dtype=np.float64)
    total, L = counts.sum(), counts.shape[0]
    p = counts[counts > 0] / total if total else np.zeros(0)
    entropy = float(-(p * np.log(p)).sum() / math.log(L)) if L > 1 and total else 1.0
    return {"usage_entropy": entropy, "unused_leaves": int((counts == 0).sum())}


@dataclass
class TrainConfig:
    """Hyperparameters; defaults are the authors' (alpha 1, hardening 1 then 3, AdamW 1e-3, master 8)."""

    depth: int = 3
    leaf_width: int = 2
    master_width: int = 8
    load_balance: float = 1.0  # alpha; 0 disables the term
    hardening: float = 1.0  # entropy weight during the balance epochs
    hardening_final: float = 3.0  # entropy weight during the hardening epochs
    epochs_balance: int = 300
    epochs_harden: int = 300
    lr: float = 1e-3
    batch_size: int = 64
    seed: int = 0
    threads: int = 1


@dataclass
class TrainResult:
    """The selected checkpoint and what it scores by hard descent (accuracies in [0, 1])."""

    state_dict: dict[str, torch.Tensor]
    config: TrainConfig
    accuracy: dict[str, float]
    correct: dict[str, int]
    count: dict[str, int]
    near_ties: dict[str, int]
    best_epoch: int
    best_phase: str
    seconds: float
    leaf_counts: dict[str, list[int]]
    history: list[dict[str, float]] = field(default_factory=list)


def _x64(data: Dataset, raw: np.ndarray) -> np.ndarray:
    """§8 preprocessing as pyfff.reference does it: float64 with the float32 scale and offset."""
    return np.asarray(raw, np.float64) * float(np.float32(data.scale)) + float(np.float32(data.offset))


def train(data: Dataset, config: TrainConfig, log: Callable[[str], None] | None = None) -> TrainResult:
    """Train one FFF on ``data`` per ``config``; deterministic for a given seed and thread count."""
    started = time.perf_counter()
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    model = FFFModule(data.input_width, config.leaf_width, data.n_classes, config.depth, config.master_width)
    x_train = torch.from_numpy(preprocess(data.train.raw, data.scale, data.offset))
    y_train = torch.from_numpy(data.train.labels)
    x64 = {name: _x64(data, split.raw) for name, split in (("train", data.train), ("val", data.val), ("test", data.test))}
    labels = {"train": data.train.labels, "val": data.val.labels, "test": data.test.labels}
    generator = torch.Generator().manual_seed(config.seed)
    criterion = nn.CrossEntropyLoss()

    def val_accuracy() -> float:
        return float(np.mean(hard_forward(model.state_dict(), x64["val"]).argmax == labels["val"]))

    best_acc, best_state, best_epoch, best_phase = val_accuracy(), copy.deepcopy(model.state_dict()), 0, "init"
    history: list[dict[str, float]] = []
    epoch = 0
    phases = (("balance", config.epochs_balance, config.hardening, config.load_balance),
              ("harden", config.epochs_harden, config.hardening_final, 0.0))
    for phase, epochs, beta, alpha in phases:
        if phase == "harden":  # the authors restart hardening from the best balanced checkpoint
            model.load_state_dict(best_state)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
        for _ in range(epochs):
            epoch += 1
            model.train()
            order = torch.randperm(len(y_train), generator=generator)
            total = 0.0
            for start in range(0, len(order), config.batch_size):
                idx = order[start : start + config.batch_size]
                out, d, probs, hard = model.training_forward(x_train[idx])
                loss = criterion(out, y_train[idx]) + hardening_loss(d, beta)
                if alpha:
                    loss = loss + load_balancing_loss(probs, hard, alpha)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(idx)
            acc = val_accuracy()
            history.append({"epoch": epoch, "loss": total / len(order), "val_hard_accuracy": acc})
            if acc > best_acc:
                best_acc, best_state, best_epoch, best_phase = acc, copy.deepcopy(model.state_dict()), epoch, phase
            if log and (epoch % 25 == 0 or epoch == config.epochs_balance + config.epochs_harden):
                log(f"epoch {epoch:4d} [{phase}] loss {total / len(order):.4f} val hard acc {acc:.4f} (best {best_acc:.4f} @ {best_epoch})")

    model.load_state_dict(best_state)
    model.record_usage(x_train)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    accuracy, correct, count, near, leaf_counts = {}, {}, {}, {}, {}
    for name in ("train", "val", "test"):
        r = hard_forward(state, x64[name])
        hits = int(np.sum(r.argmax == labels[name]))
        correct[name], count[name] = hits, len(labels[name])
        accuracy[name] = hits / max(1, len(labels[name]))
        near[name] = int(r.near_tie.sum())
        leaf_counts[name] = np.bincount(r.leaves, minlength=model.n_leaves).astype(int).tolist()
    return TrainResult(state, config, accuracy, correct, count, near, best_epoch, best_phase,
                       time.perf_counter() - started, leaf_counts, history)


# --------------------------------------------------------------------------- export and CLI


def export(result: TrainResult, data: Dataset, prefix: str, *, name: str | None = None) -> tuple[str, str]:
    """Write ``prefix.pt`` (torch.save of the state_dict) and ``prefix.fff`` (via pyfff.convert).

    The ``.fff`` carries the data set's preprocessing and labels, so raw records go in, and in
    ``META`` the data set, seed, hyperparameters, the hard-descent results (exact counts, so a
    test can compare them to the sample) and the leaf histograms.
    """
    from .convert import save_fff

    cfg = result.config
    pt_path, fff_path = f"{prefix}.pt", f"{prefix}.fff"
    torch.save(result.state_dict, pt_path)
    master = f"master {cfg.master_width}" if cfg.master_width else "no master leaf"
    metadata = [
        ("dataset", data.description),
        ("training.producer", "tools/train (pyfff.trainer)"),
        ("training.seed", str(cfg.seed)),
        ("training.hyperparameters", json.dumps(asdict(cfg), sort_keys=True)),
        ("training.selection", f"best validation hard-descent accuracy: epoch {result.best_epoch} ({result.best_phase})"),
        ("training.accuracy", json.dumps({k: round(v, 6) for k, v in result.accuracy.items()})),
        ("training.correct", json.dumps({k: [result.correct[k], result.count[k]] for k in ("train", "val", "test")})),
        ("training.leaf_counts", json.dumps(result.leaf_counts)),
    ]
    save_fff(
        result.state_dict,
        fff_path,
        input_scale=data.scale,
        input_offset=data.offset,
        labels=data.labels,
        activation="relu",
        name=name or f"FFF {data.name}: depth {cfg.depth}, leaf width {cfg.leaf_width}, {master}, seed {cfg.seed}",
        metadata=metadata,
    )
    return pt_path, fff_path


def verify_export(fff_path: str, result: TrainResult, data: Dataset) -> dict[str, int]:
    """Evaluate the written file with pyfff.reference; return per split how many predictions differ.

    Zero everywhere means the file reproduces the trainer's hard-descent figures to the sample.
    """
    from .format import read_model
    from .reference import evaluate

    model = read_model(fff_path)
    diffs = {}
    for split_name, split in (("train", data.train), ("val", data.val), ("test", data.test)):
        ref = evaluate(model, split.raw)
        mine = hard_forward(result.state_dict, _x64(data, split.raw))
        diffs[split_name] = int(np.sum(ref.argmax != mine.argmax))
        if int(np.sum(ref.argmax == split.labels)) != result.correct[split_name]:
            diffs[split_name] = max(diffs[split_name], 1)
    return diffs


def write_test_split(fff_path: str, data: Dataset, prefix: str) -> list[str]:
    """Golden files for runtimes: the raw test split, its labels, and pyfff.reference's answers.

    ``prefix-test.csv`` holds one raw record per line (comma-separated integers, no header),
    ``prefix-test-labels.txt`` one label name per line, ``prefix-test.expected.json`` the float64
    reference's outputs, leaves, argmax, predicted labels and §14.3 near-tie flags on the model.
    """
    import hashlib
    import os

    from .format import read_model
    from .reference import evaluate

    csv_path, labels_path, json_path = f"{prefix}-test.csv", f"{prefix}-test-labels.txt", f"{prefix}-test.expected.json"
    raw = np.asarray(data.test.raw)
    if not np.array_equal(raw, raw.astype(np.int64)):
        raise ValueError("test records are expected to be integers")
    with open(csv_path, "w") as f:
        f.writelines(",".join(str(int(v)) for v in row) + "\n" for row in raw)
    with open(labels_path, "w") as f:
        f.writelines(data.labels[int(y)] + "\n" for y in data.test.labels)
    model = read_model(fff_path)
    ref = evaluate(model, raw)
    with open(fff_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    correct = int(np.sum(ref.argmax == data.test.labels))
    expected = {
        "model": os.path.basename(fff_path),
        "model_sha256": digest,
        "records": os.path.basename(csv_path),
        "labels": os.path.basename(labels_path),
        "producer": "pyfff.reference.evaluate (float64, FORMAT.md §14) via tools/train --write-test-split",
        "count": int(raw.shape[0]),
        "correct": correct,
        "accuracy": correct / max(1, raw.shape[0]),
        "near_ties": int(ref.near_tie.sum()),
        "argmax": ref.argmax.tolist(),
        "predicted_labels": [data.labels[int(i)] for i in ref.argmax],
        "leaves": ref.leaves.tolist(),
        "near_tie": ref.near_tie.astype(bool).tolist(),
        "outputs": ref.outputs.tolist(),
    }
    with open(json_path, "w") as f:
        json.dump(expected, f, indent=None, separators=(",", ":"))
        f.write("\n")
    return [csv_path, labels_path, json_path]


def _parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = argparse.ArgumentParser(
        prog="train",
        description="Train an FFF (soft training, hardening, load balancing, master leaf) and export "
        "OUT.pt (torch state_dict) and OUT.fff (model file with preprocessing, labels and metadata).",
    )
    p.add_argument("--dataset", choices=("digits", "idx"), required=True,
                   help="digits: scikit-learn 8x8 digits, fixed 60/20/20 split; idx: IDX image/label pairs")
    for flag in ("--train-images", "--train-labels", "--test-images", "--test-labels"):
        p.add_argument(flag, help="IDX file (plain or gzip) for --dataset idx")
    p.add_argument("--depth", type=int, default=d.depth, help=f"tree depth (default {d.depth})")
    p.add_argument("--leaf-width", type=int, default=d.leaf_width, help=f"leaf hidden width (default {d.leaf_width})")
    p.add_argument("--master-leaf", type=int, default=d.master_width, metavar="WIDTH",
                   help=f"master leaf hidden width, 0 for none (default {d.master_width})")
    p.add_argument("--no-master-leaf", action="store_true", help="same as --master-leaf 0")
    lb = p.add_mutually_exclusive_group()
    lb.add_argument("--load-balance", type=float, default=d.load_balance, metavar="ALPHA",
                    help=f"load-balancing weight during the balance epochs (default {d.load_balance})")
    lb.add_argument("--no-load-balance", action="store_true", help="same as --load-balance 0")
    p.add_argument("--hardening", type=float, default=d.hardening, metavar="BETA",
                   help=f"entropy weight during the balance epochs (default {d.hardening})")
    p.add_argument("--hardening-final", type=float, default=d.hardening_final, metavar="BETA",
                   help=f"entropy weight during the hardening epochs (default {d.hardening_final})")
    p.add_argument("--epochs-balance", type=int, default=d.epochs_balance, metavar="N")
    p.add_argument("--epochs-harden", type=int, default=d.epochs_harden, metavar="N")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--lr", type=float, default=d.lr, help=f"AdamW learning rate (default {d.lr})")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--threads", type=int, default=d.threads, help="torch threads (default 1)")
    p.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    p.add_argument("--write-test-split", action="store_true",
                   help="also write OUT_PREFIX-test.csv (raw records), OUT_PREFIX-test-labels.txt and "
                   "OUT_PREFIX-test.expected.json (pyfff.reference's outputs, leaves and predictions)")
    p.add_argument("-o", "--output", required=True, metavar="OUT_PREFIX", help="writes OUT_PREFIX.pt and OUT_PREFIX.fff")
    return p


def main(argv: list[str] | None = None) -> int:
    """``tools/train``: train, report hard-descent accuracies, export, and verify the export."""
    import sys

    from .digits import load_digits_split, load_idx_dataset

    p = _parser()
    args = p.parse_args(argv)
    if args.dataset == "idx":
        files = [args.train_images, args.train_labels, args.test_images, args.test_labels]
        if not all(files):
            p.error("--dataset idx needs --train-images, --train-labels, --test-images and --test-labels")
        data = load_idx_dataset(*files, seed=0)
    else:
        if any([args.train_images, args.train_labels, args.test_images, args.test_labels]):
            p.error("IDX file options apply only to --dataset idx")
        data = load_digits_split()
    master = 0 if args.no_master_leaf else args.master_leaf
    alpha = 0.0 if args.no_load_balance else args.load_balance
    if args.depth < 0 or args.leaf_width < 1 or master < 0 or args.batch_size < 1 or args.epochs_balance < 0 or args.epochs_harden < 0:
        p.error("depth, master width and epochs must be >= 0; leaf width and batch size >= 1")
    config = TrainConfig(
        depth=args.depth, leaf_width=args.leaf_width, master_width=master, load_balance=alpha,
        hardening=args.hardening, hardening_final=args.hardening_final,
        epochs_balance=args.epochs_balance, epochs_harden=args.epochs_harden,
        lr=args.lr, batch_size=args.batch_size, seed=args.seed, threads=args.threads,
    )
    print(f"data: {data.description}")
    print(f"config: {asdict(config)}")
    result = train(data, config, log=None if args.quiet else print)
    print(f"selected: epoch {result.best_epoch} ({result.best_phase}), trained in {result.seconds:.1f} s")
    print("hard-descent accuracy (FORMAT.md §14, float64):")
    for s in ("train", "val", "test"):
        print(f"  {s:5s} {100 * result.accuracy[s]:6.2f} %  ({result.correct[s]}/{result.count[s]}; "
              f"near-ties {result.near_ties[s]})")
    for s in ("train", "test"):
        m = usage_metrics(np.array(result.leaf_counts[s]))
        print(f"leaf usage ({s}): {result.leaf_counts[s]}  normalised entropy {m['usage_entropy']:.3f}, "
              f"unused leaves {m['unused_leaves']}")
    if config.master_width:
        print(f"master leaf mixing: s = sigmoid(k) = {float(torch.sigmoid(result.state_dict['k'])):.4f}")
    pt_path, fff_path = export(result, data, args.output)
    print(f"wrote {pt_path} and {fff_path}")
    diffs = verify_export(fff_path, result, data)
    if any(diffs.values()):
        print(f"error: pyfff.reference on {fff_path} disagrees with the trainer: {diffs}", file=sys.stderr)
        return 1
    print(f"verified: pyfff.reference on {fff_path} reproduces every train/val/test prediction")
    if args.write_test_split:
        print("wrote " + ", ".join(write_test_split(fff_path, data, args.output)))
    return 0
