from torch import nn


class NeedsWidth(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.width = width
