"""The blog's training code (part 3), transcribed as faithfully as possible.

This is the *reference* grutui's ``blog`` preset is checked against. Only the
plumbing differs from the original: no tqdm/matplotlib, no JSON files, the epoch
count is a parameter, and the weights are collected every epoch (the blog keeps
them every 49) so tests can compare any epoch. The order of every RNG-consuming
call (seeding, data generation, DataLoader creation, model init, shuffling) is
the blog's own.

Run as a script it trains the full 3000 epochs and prints the final model's
output for ``12:0 37:1 12:0 21:1`` (the number the demo session must reproduce).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset


class AddingProblemGRU(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size, num_layers=1, batch_first=True)
        self.linear = nn.Linear(hidden_size, output_size)
        self.init_weights()

    def init_weights(self) -> None:
        for name, param in self.gru.named_parameters():
            if "weight" in name:
                nn.init.orthogonal_(param)
            elif "bias" in name:
                nn.init.constant_(param, 0)
        nn.init.xavier_uniform_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, hn = self.gru(x)
        output = self.linear(out[:, -1, :])
        return output, out


def adding_problem_generator(N, seq_len=6, high=1, delta=0.6):  # type: ignore[no-untyped-def]
    actual_seq_len = (
        np.random.randint(int(seq_len * (1 - delta)), int(seq_len * (1 + delta)))
        if delta > 0
        else seq_len
    )
    num_ones = np.random.randint(2, min(actual_seq_len - 1, 4))
    X_num = np.random.randint(low=0, high=high, size=(N, actual_seq_len, 1))
    X_mask = np.zeros((N, actual_seq_len, 1))
    Y = np.ones((N, 1))
    for i in range(N):
        positions = np.random.choice(actual_seq_len, size=num_ones, replace=False)
        X_mask[i, positions] = 1
        Y[i, 0] = np.sum(X_num[i, positions])
    X = np.append(X_num, X_mask, axis=2)
    return X, Y


def run_blog(
    num_epochs: int = 3000,
    seed: int = 37,
    n_samples: int = 10000,
    eval_every: int = 49,
    patience: int = 5,
    hidden_size: int = 1,
    lr: float = 1e-4,
    device: str | torch.device = "cpu",
    train_mode: bool = False,
) -> dict[str, Any]:
    """The blog's script; the keyword arguments only replace its constants so tests can
    exercise evaluation and LR changes within a few epochs (defaults = the blog's).

    ``device``: the blog picks CUDA when present; here the caller says (tests compare
    CPU runs). ``train_mode``: put the model back in train mode every epoch. The blog's
    ``evaluate()`` leaves it in eval mode, harmless on the CPU, fatal under cuDNN at the
    next backward, so the script as written cannot train on a GPU past its first
    evaluation."""
    RANDOM_SEED = seed
    np.random.seed(RANDOM_SEED)
    torch.manual_seed(RANDOM_SEED)
    torch.cuda.manual_seed_all(RANDOM_SEED)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    DELTA = 0
    SEQ_LEN = 4
    HIGH = 100
    N_SAMPLES = n_samples
    TRAIN_SPLIT = 0.8
    BATCH_SIZE = 256
    LEARNING_RATE = lr
    WEIGHT_DECAY = 1e-5
    CLIP_VALUE = 2.0
    NUM_EPOCHS = num_epochs
    HIDDEN_SIZE = hidden_size
    OUTPUT_SIZE = 1
    INPUT_SIZE = 2

    X, Y = adding_problem_generator(N_SAMPLES, seq_len=SEQ_LEN, high=HIGH, delta=DELTA)
    training_len = int(TRAIN_SPLIT * N_SAMPLES)
    train_X = X[:training_len]
    test_X = X[training_len:]
    train_Y = Y[:training_len]
    test_Y = Y[training_len:]
    train_dataset = TensorDataset(torch.tensor(train_X).float(), torch.tensor(train_Y).float())
    train_loader = DataLoader(train_dataset, batch_size=BATCH_SIZE, shuffle=True)
    test_dataset = TensorDataset(torch.tensor(test_X).float(), torch.tensor(test_Y).float())
    test_loader = DataLoader(test_dataset, batch_size=BATCH_SIZE, shuffle=False)

    device = torch.device(device)
    criterion = nn.MSELoss()

    def evaluate(model, data_loader, criterion, high):  # type: ignore[no-untyped-def]
        model.eval()
        total_loss = 0
        with torch.no_grad():
            for inputs, labels in data_loader:
                inputs, labels = inputs.to(device), labels.to(device)
                inputs[:, :, 0] /= high
                outputs, _ = model(inputs)
                outputs = outputs * high
                loss = criterion(outputs, labels)
                total_loss += loss.item() * inputs.size(0)
        return total_loss / len(data_loader.dataset)

    model = AddingProblemGRU(input_size=INPUT_SIZE, hidden_size=HIDDEN_SIZE, output_size=OUTPUT_SIZE)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=0.5, patience=patience, min_lr=1e-6
    )
    train_losses: list[float] = []
    test_losses: list[float | None] = []
    every_epoch_weights = []
    lrs = []
    for epoch in range(NUM_EPOCHS):
        if train_mode:
            model.train()
        running_loss = 0.0
        for inputs, labels in train_loader:
            inputs, labels = inputs.to(device), labels.to(device)
            inputs[:, :, 0] /= HIGH
            labels_scaled = labels / HIGH
            optimizer.zero_grad()
            outputs, _ = model(inputs)
            loss = criterion(outputs, labels_scaled)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_VALUE)
            optimizer.step()
            running_loss += loss.item() * inputs.size(0)
        epoch_loss = running_loss / len(train_loader.dataset)
        train_losses.append(epoch_loss)
        if epoch % eval_every == 0:
            test_loss = evaluate(model, test_loader, criterion, HIGH)
            test_losses.append(test_loss)
            scheduler.step(test_loss)
        else:
            test_losses.append(None)
        lrs.append(optimizer.param_groups[0]["lr"])
        every_epoch_weights.append(
            {name: p.data.cpu().numpy().copy() for name, p in model.named_parameters()}
        )

    input_sequence = torch.tensor([[12, 0], [37, 1], [12, 0], [21, 1]]).float().unsqueeze(0)
    input_sequence[:, :, 0] /= HIGH
    model.eval()
    with torch.no_grad():
        out, _ = model(input_sequence.to(device))
    return {
        "train_losses": train_losses,
        "test_losses": test_losses,
        "lrs": lrs,
        "weights": every_epoch_weights,
        "final_output_x_high": float(out.item() * HIGH),
        "data": (train_X, train_Y, test_X, test_Y),
    }


if __name__ == "__main__":
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    res = run_blog(epochs)
    print(f"epochs={epochs}")
    print(f"final train loss={res['train_losses'][-1]!r}")
    last_test = [t for t in res["test_losses"] if t is not None][-1]
    print(f"last test loss={last_test!r}")
    print(f"final lr={res['lrs'][-1]!r}")
    print(f"output x100 for 12:0 37:1 12:0 21:1 = {res['final_output_x_high']!r}")
    for k, v in res["weights"][-1].items():
        print(k, v.tolist())
