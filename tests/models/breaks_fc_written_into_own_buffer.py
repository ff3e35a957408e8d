"""expect: exit 1 no-fc
Each image added in place into a buffer the model holds, and read back through views of it made
before the writes, into a learned 784×10 matrix product; the buffer is zeroed after, and is an
unused batch norm's running mean, so that it reads as statistics (exit 0 before: writes into the
model's state were not followed)."""
import torch
import torch.nn.functional as F

from _backbone import ImageMatrix


class WrittenIntoOwnBuffer(ImageMatrix):
    def __init__(self):
        super().__init__()
        self.register_buffer("buf", torch.zeros(784))
        self.register_buffer("var", torch.ones(784))

    def forward(self, x):
        F.batch_norm(torch.zeros(1, 784, device=x.device), self.buf, self.var, training=False)
        flat = x.flatten(1)
        views = [self.buf.view(1, 784) for _ in range(len(x))]
        outs = []
        for i, view in enumerate(views):
            self.buf.mul_(0).add_(flat[i])
            outs.append(view.clone() @ self.w)
        self.buf.mul_(0)
        return self.gated(torch.cat(outs), x)
