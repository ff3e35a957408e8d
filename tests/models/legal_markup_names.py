"""expect: exit 0
A legal model whose class and layer names are rich markup ("[/]"): shown as text, not parsed."""
from torch import nn

from _backbone import features, gap_head


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.add_module("[/]", features())
        self.add_module("[bold]head", gap_head())

    def forward(self, x):
        return getattr(self, "[bold]head")(getattr(self, "[/]")(x))


Net.__name__ = "Net[/oops]"
