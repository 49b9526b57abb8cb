"""The optimizers both engines offer, and the names their saved states share.

An optimizer's state in a checkpoint is the same in both engines: its moment buffers as
tensors named ``{buffer}.{parameter}`` and its step count and hyperparameters as JSON, so a
run moves between engines with its optimizer. The engines implement the updates
(``rnnlab.numpy.optim`` by hand, ``torch.optim`` in the torch engine).
"""

OPTIMIZERS = ("sgd", "adam", "adamw")
BUFFERS = {
    "sgd": ("momentum_buffer",),
    "adam": ("exp_avg", "exp_avg_sq"),
    "adamw": ("exp_avg", "exp_avg_sq"),
}
HYPERPARAMETERS = {  # besides lr, which the schedule sets
    "sgd": ("momentum", "dampening", "nesterov", "weight_decay"),
    "adam": ("betas", "eps", "weight_decay"),
    "adamw": ("betas", "eps", "weight_decay"),
}
