"""Real log lines of each framework, with the points `MetricParser` must read from them.

Each line is shaped by the framework's own print statement (the format string is quoted
above each block), with realistic values. A format's lines go through one parser in order,
so order-based steps (0, 1, ...) are checked too. `NEGATIVES` are lines that carry numbers
but no metric: timestamps, durations, ETAs, sizes, rates, ids, versions, addresses.
"""

from __future__ import annotations

# (line, [(name, value, step), ...])
Expected = list[tuple[str, float, int]]
CORPUS: dict[str, list[tuple[str, Expected]]] = {
    # transformers trainer_callback.py ProgressCallback.on_log: `self.training_bar.write(str(logs))`
    # (PrinterCallback: `print(logs)`); numpy 2 scalars print as np.float64(...).
    "hf_trainer": [
        (
            "{'loss': 0.4512, 'grad_norm': 3.2104, 'learning_rate': 4.5e-05, 'epoch': 0.12}",
            [
                ("loss", 0.4512, 0),
                ("grad_norm", 3.2104, 0),
                ("learning_rate", 4.5e-05, 0),
                ("epoch", 0.12, 0),
            ],
        ),
        (
            "{'loss': 0.3921, 'grad_norm': np.float64(2.871), 'learning_rate': 4e-05, "
            "'epoch': np.float64(0.24)}",
            [
                ("loss", 0.3921, 1),
                ("grad_norm", 2.871, 1),
                ("learning_rate", 4e-05, 1),
                ("epoch", 0.24, 1),
            ],
        ),
        (
            "{'eval_loss': 0.3312, 'eval_accuracy': 0.8876, 'eval_runtime': 12.3456, "
            "'eval_samples_per_second': 81.002, 'eval_steps_per_second': 10.125, 'epoch': 1.0}",
            [("eval_loss", 0.3312, 0), ("eval_accuracy", 0.8876, 0), ("epoch", 1.0, 2)],
        ),
        (
            "{'train_runtime': 754.321, 'train_samples_per_second': 39.77, "
            "'train_steps_per_second': 4.972, 'train_loss': 0.41234, 'epoch': 3.0}",
            [("train_loss", 0.41234, 0), ("epoch", 3.0, 3)],
        ),
        ("{'loss': tensor(0.2500, device='cuda:0'), 'step': 40}", [("loss", 0.25, 40)]),
    ],
    # JSON lines (jsonl loggers, `print(json.dumps(metrics))`).
    "json": [
        (
            '{"step": 100, "loss": 0.3512, "lr": 0.0001, "time": 1733040000.5, "run_id": 7}',
            [("loss", 0.3512, 100), ("lr", 0.0001, 100)],
        ),
        (
            '{"global_step": 200, "train": {"loss": 0.31, "acc": 0.9}, "done": false}',
            [("train/loss", 0.31, 200), ("train/acc", 0.9, 200)],
        ),
    ],
    # logfmt / key=value (structlog, custom prints).
    "logfmt": [
        (
            'time=2026-12-01T10:00:00Z level=info msg="train step" step=300 loss=0.2871 '
            "lr=3e-4 duration=1.2s",
            [("loss", 0.2871, 300), ("lr", 0.0003, 300)],
        ),
        ("epoch=2 loss=0.25 acc=0.91", [("epoch", 2.0, 0), ("loss", 0.25, 1), ("acc", 0.91, 0)]),
    ],
    # Lightning TQDMProgressBar: tqdm's bar with `set_postfix(self.get_metrics(...))`.
    "lightning": [
        (
            "Epoch 0:  45%|████▌     | 450/1000 [00:10<00:12, 44.12it/s, v_num=0, "
            "train_loss=0.123]",
            [("train_loss", 0.123, 0)],
        ),
        (
            "\rEpoch 0:  99%|█████████▉| 990/1000 [00:22<00:00, 44.61it/s, v_num=0, "
            "train_loss=0.118]\rEpoch 0: 100%|██████████| 1000/1000 [00:22<00:00, 44.63it/s, "
            "v_num=0, train_loss=0.0952, val_loss=0.0871, val_acc=0.973]",
            [("train_loss", 0.0952, 1), ("val_loss", 0.0871, 0), ("val_acc", 0.973, 0)],
        ),
        ("loss=0.123, v_num=1", [("loss", 0.123, 0)]),
    ],
    # keras/src/utils/progbar.py: `info += f" - {k}:"` then `f" {avg:.4f}"` / `f" {avg:.4e}"`,
    # after the bold count, the green/white bar, the ETA and `_format_time` (`5ms/step`).
    "keras": [
        (
            "\x1b[1m 120/1875\x1b[0m \x1b[32m━\x1b[0m\x1b[37m━━━━━━━━━━━━━━━━━━━\x1b[0m "
            "\x1b[1m8s\x1b[0m 5ms/step - accuracy: 0.6723 - loss: 1.0512",
            [("accuracy", 0.6723, 0), ("loss", 1.0512, 0)],
        ),
        (
            "\x08\x08\x08\r\x1b[1m1875/1875\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m"
            "\x1b[37m\x1b[0m "
            "\x1b[1m9s\x1b[0m 4ms/step - accuracy: 0.8790 - loss: 0.4127 - val_accuracy: 0.9012 "
            "- val_loss: 0.3324",
            [
                ("accuracy", 0.879, 1),
                ("loss", 0.4127, 1),
                ("val_accuracy", 0.9012, 0),
                ("val_loss", 0.3324, 0),
            ],
        ),
        # Keras 2 (tf.keras) with verbose=1 and 2.
        (
            "1875/1875 [==============================] - 3s 1ms/step - loss: 0.4380 - "
            "accuracy: 0.8440",
            [("loss", 0.438, 2), ("accuracy", 0.844, 2)],
        ),
        (
            "  32/1875 [..............................] - ETA: 12s - loss: 2.3026",
            [("loss", 2.3026, 3)],
        ),
        ("1875/1875 - 2s - loss: 1.2340e-04 - 1ms/epoch", [("loss", 0.0001234, 4)]),
    ],
    # pytorch/examples mnist/main.py:
    # 'Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}' and
    # '\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'
    "pytorch_examples": [
        ("Train Epoch: 1 [640/60000 (1%)]\tLoss: 2.276078", [("Loss", 2.276078, 60640)]),
        ("Train Epoch: 2 [0/60000 (0%)]\tLoss: 0.123456", [("Loss", 0.123456, 120000)]),
        ("Test set: Average loss: 0.0336, Accuracy: 9890/10000 (99%)", [("loss", 0.0336, 0)]),
    ],
    # nanoGPT train.py:
    # f"step {iter_num}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}"
    # f"iter {iter_num}: loss {lossf:.4f}, time {dt*1000:.2f}ms, mfu {running_mfu*100:.2f}%"
    "nanogpt": [
        (
            "step 0: train loss 10.9876, val loss 10.9912",
            [("train loss", 10.9876, 0), ("val loss", 10.9912, 0)],
        ),
        (
            "iter 0: loss 10.9911, time 12345.67ms, mfu -100.00%",
            [("loss", 10.9911, 0), ("mfu", -100.0, 0)],
        ),
        (
            "iter 100: loss 2.3456, time 123.45ms, mfu 31.27%",
            [("loss", 2.3456, 100), ("mfu", 31.27, 100)],
        ),
    ],
    # Megatron-LM megatron/training/training.py training_log: ' iteration {:8d}/{:8d} |',
    # ' consumed samples: {:12d} |', ' elapsed time per iteration (ms): {:.1f} |',
    # ' learning rate: {:.6E} |', ' global batch size: {:5d} |', ' {}: {:.6E} |' per loss,
    # ' loss scale: {:.1f} |', ' grad norm: {:.3f} |', ' number of skipped iterations: {:3d} |'
    "megatron": [
        (
            " [2026-12-01 10:00:00] iteration      100/  500000 | consumed samples:        51200 "
            "| elapsed time per iteration (ms): 1234.5 | throughput per GPU (TFLOP/s/GPU): 150.2 "
            "| learning rate: 1.500000E-04 | global batch size:   512 | lm loss: 7.123456E+00 | "
            "loss scale: 1.0 | grad norm: 2.345 | number of skipped iterations:   0 | "
            "number of nan iterations:   0 |",
            [
                ("learning rate", 0.00015, 100),
                ("lm loss", 7.123456, 100),
                ("loss scale", 1.0, 100),
                ("grad norm", 2.345, 100),
                ("number of skipped iterations", 0.0, 100),
                ("number of nan iterations", 0.0, 100),
            ],
        ),
    ],
    # torchvision references/classification/utils.py MetricLogger.log_every:
    # delimiter.join([header, "[{0:Nd}/{1}]", "eta: {eta}", "{meters}", "time: {time}",
    # "data: {data}", "max mem: {memory:.0f}"]), meters as "{name}: {median:.4f} ({global_avg:.4f})"
    "torchvision": [
        (
            "Epoch: [0]  [   10/1251]  eta: 0:25:53  lr: 0.1  img/s: 312.5  loss: 6.9093 (6.9106)"
            "  acc1: 0.0000 (0.1420)  acc5: 0.7812 (0.5682)  time: 1.2416  data: 0.3451  "
            "max mem: 10234",
            [("lr", 0.1, 10), ("loss", 6.9093, 10), ("acc1", 0.0, 10), ("acc5", 0.7812, 10)],
        ),
        (
            "Epoch: [1]\t[ 10/100]\teta: 0:00:25\tlr: 0.02\tloss: 1.2300 (1.3000)\ttime: 0.1000"
            "\tdata: 0.0100\tmax mem: 1234",
            [("lr", 0.02, 110), ("loss", 1.23, 110)],
        ),
        ("Epoch: [1] Total time: 0:02:03", []),
    ],
    # xgboost callback.py EvaluationMonitor: msg = f"[{epoch}]" then
    # f"\t{data}-{metric}:{score:.5f}" (and f"+{std:.5f}" with show_stdv in xgb.cv).
    "xgboost": [
        (
            "[0]\ttrain-rmse:0.43211\teval-rmse:0.45123",
            [("train-rmse", 0.43211, 0), ("eval-rmse", 0.45123, 0)],
        ),
        (
            "[10]\ttrain-rmse:0.12000\teval-rmse:0.15000",
            [("train-rmse", 0.12, 10), ("eval-rmse", 0.15, 10)],
        ),
        (
            "[3]\ttrain-logloss:0.31234+0.00123\ttest-logloss:0.35678+0.00456",
            [("train-logloss", 0.31234, 3), ("test-logloss", 0.35678, 3)],
        ),
    ],
    # Plain `key: value` runs and step fields of hand-written prints.
    "plain": [
        ("\x1b[32mINFO\x1b[0m step: 5 loss: 0.75 acc: 0.5", [("loss", 0.75, 5), ("acc", 0.5, 5)]),
        (
            "global_step=1200, train/loss=0.0123, val/acc=0.9871",
            [("train/loss", 0.0123, 1200), ("val/acc", 0.9871, 1200)],
        ),
        ("Iteration 7 | loss: 0.5 | acc: 0.8 |", [("loss", 0.5, 7), ("acc", 0.8, 7)]),
        ("step 9: loss=0.25 acc=0.75", [("loss", 0.25, 9), ("acc", 0.75, 9)]),
        ("Step 10/100 loss: 0.2, acc: 0.8", [("loss", 0.2, 10), ("acc", 0.8, 10)]),
    ],
}

# Lines with numbers that are never metrics.
NEGATIVES = [
    "2026-12-01 10:00:00,123 INFO Starting training on 4 GPUs",
    "Started at: 12:34:56",
    "date: 2026-12-01",
    "eta: 0:00:25",
    "ETA: 3s",
    "time: 123.45ms",
    "1875/1875 [==============================] - 3s 1ms/step",
    "throughput: 120MB/s",
    "speed: 45.2it/s",
    "max mem: 1234",
    "Listening on localhost:8080",
    "server: 10.0.0.1:443",
    "version: 1.2.3",
    "torch version=2.5.1",
    "run id: 3f2a9c1b",
    "run_id=4711 pid=1234 seed=42 rank=0 world_size=8",
    "commit=0x1f2e3d",
    "Epoch 1/5",
    " 45%|████▌     | 450/1000 [00:10<00:12, 44.1it/s]",
    "Downloading: 100%|██████████| 9.91M/9.91M [00:01<00:00, 8.12MB/s]",
    "Saving checkpoint to /tmp/ckpt-1000.pt",
    'File "/usr/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1501, in forward',
    "{'train_runtime': 12.3, 'train_samples_per_second': 45.6, 'total_flos': 1.2e+15}",
    "elapsed: 00:01:02",
    "batch_size: 64 | data_time=0.01 img/s: 312.5",
    "Accuracy: 9890/10000 (99%)",
    "Total time: 0:02:03",
    "Took 3.5s, 1.2GB",
    "at=2026-12-01T10:00:00Z",
    "TPU available: False, using: 0 TPU cores",
    "cache: 12 MB, elapsed: 3 s",
    "Downloading (…)lve/main/config.json: 100%|██████████| 570/570 [00:00<00:00, 2.12MB/s]",
    "Requirement already satisfied: numpy==1.26.4 in /usr/lib/python3/dist-packages",
]
