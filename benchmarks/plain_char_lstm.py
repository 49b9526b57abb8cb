"""A plain PyTorch character language model with a time budget: the honest reference that
rnnlab's presets are measured against.

Written the way a PyTorch user writes one, with nothing of rnnlab's in it: ``nn.Embedding``
→ ``nn.LSTM`` (dropout between layers) → dropout → ``nn.Linear``, Adam, stateful truncated
BPTT, gradient clipping at 5, a constant learning rate. It reads the text the way
rnnlab's ``chars`` task does, so the validation text is the same characters:

* the vocabulary is every character of the whole text;
* the text is split by position: the first 90% train, the next 5% validation;
* each split is cut into ``B`` contiguous rows of ``L = (n - 1) // B`` characters, read
  ``seq_len`` at a time with the state carried from one chunk to the next.

Validation loss is the mean negative log-likelihood (nats/char) of every character of the
validation rows, the state carried over the whole split — as ``rnnlab evaluate`` computes
it. Every ``--eval-every`` steps it prints one JSON line; at the end one line with the best.

    python benchmarks/plain_char_lstm.py --data FILE --hidden 512 --layers 2 \\
        --dropout 0.2 --max-time 1800

``tests/benchmarks/test_plain_char_lstm.py`` proves that the chunked, state-carrying
evaluation equals one pass over each whole row, and that a run writes what it says.
"""

import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch import nn


class CharLSTM(nn.Module):
    def __init__(self, vocab: int, embedding: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding)
        self.rnn = nn.LSTM(embedding, hidden, layers, dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, ids: torch.Tensor, state=None):
        """ids (T, B) → logits (T, B, V) and the final (h, c)."""
        y, state = self.rnn(self.embedding(ids), state)
        return self.head(self.drop(y)), state


def rows(ids: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets as ``(L, B)``: row b reads ids[b·L : (b+1)·L] and predicts the next."""
    length = (len(ids) - 1) // batch_size
    used = batch_size * length
    inputs = ids[:used].view(batch_size, length).t()
    targets = ids[1 : used + 1].view(batch_size, length).t()
    return inputs.contiguous(), targets.contiguous()


@torch.no_grad()
def evaluate(model: CharLSTM, inputs: torch.Tensor, targets: torch.Tensor, seq_len: int) -> float:
    """Mean NLL (nats/char) over all of ``targets``, chunk by chunk, the state carried."""
    model.eval()
    total, state = 0.0, None
    for t in range(0, inputs.shape[0], seq_len):
        logits, state = model(inputs[t : t + seq_len], state)
        chunk = targets[t : t + seq_len]
        total += F.cross_entropy(logits.flatten(0, 1), chunk.flatten(), reduction="sum").item()
    model.train()
    return total / targets.numel()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--embedding-dim", type=int, default=64)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--max-time", type=float, default=1800.0, help="training seconds")
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--eval-batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    with open(args.data, encoding="utf-8", errors="replace") as f:
        text = f.read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    n = len(ids)
    train_x, train_y = rows(ids[: int(0.9 * n)], args.batch_size)
    val_ids = ids[int(0.9 * n) : int(0.95 * n)]
    eval_rows = max(1, min(args.eval_batch_size, (len(val_ids) - 1) // args.seq_len))
    val_x, val_y = rows(val_ids, eval_rows)

    model = CharLSTM(len(chars), args.embedding_dim, args.hidden, args.layers, args.dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, best, state, t = 0, math.inf, None, 0
    t0 = time.perf_counter()
    trained = 0.0  # seconds since training began, evaluations included (as rnnlab counts)
    while trained < args.max_time and (args.max_steps is None or step < args.max_steps):
        if t >= train_x.shape[0]:
            t, state = 0, None  # a new epoch starts every row afresh
        logits, state = model(train_x[t : t + args.seq_len], state)
        state = tuple(s.detach() for s in state)  # truncated BPTT
        loss = F.cross_entropy(logits.flatten(0, 1), train_y[t : t + args.seq_len].flatten())
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        step, t = step + 1, t + args.seq_len
        trained = time.perf_counter() - t0
        last = trained >= args.max_time or step == args.max_steps
        if step % args.eval_every == 0 or last:
            val = evaluate(model, val_x, val_y, args.seq_len)
            best = min(best, val)
            line = {"step": step, "train_s": round(trained, 1), "loss": loss.item(),
                    "val_nats": val, "val_bits": val / math.log(2)}  # fmt: skip
            print(json.dumps(line), flush=True)
            trained = time.perf_counter() - t0
    print(json.dumps({"best_val_nats": best, "best_val_bits": best / math.log(2),
                      "steps": step, "train_s": round(trained, 1)}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
