"""A model's computation as data: recorded where the file's code runs, replayed where it never does.

A model file runs in a process of its own (nas/judge.py), and whatever that process reports, the
file could have written. So the process also records what the model computes: each forward pass
it will be judged or measured by, traced to torch's own operations (aten ops, their arguments,
the tensors they read, as a TorchDispatchMode sees them), and the model's state as plain tensors. nas's own process
reads that back (JSON, and tensors loaded with `weights_only`: no code) and replays it as a
module of its own, `Recorded`, which it checks against the rules and measures itself. What it
reports is what the recorded computation does with the recorded weights, whatever the file's
process said.

A recording is one graph per (mode, batch size): a trace runs the model once, so a branch on the
batch size, the mode or the values is taken as it was, and only the sizes recorded can replay.
Every floating-point tensor the graphs read is replayed as learned (a weight the file's process
called a constant could have been trained there), except BatchNorm's running statistics, which
stay buffers, and zeros made in forward. Replaying takes nas's own time: `Recorded.progress`
says when an operation last ended, so that the caller can stop one that never does.
"""

from __future__ import annotations

import json
import math
import time
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from nas.errors import NasError, describe
from nas.trace import statistics_places, written_arguments

GRAPH_FILE, STATE_FILE = "graph.json", "state.pt"
MAX_NODES = 20_000  # operations in one graph: the 14,770-param reference net has about 130
MAX_STATE_BYTES = 64 * 2**20  # of tensors: a model under the rules holds well under 1 MB
MAX_VALUES = 2**26  # per tensor a graph makes: a batch of 10,000 28×28 maps of 64 channels is 5e8 bytes
MAX_GRAPH_VALUES = 2**29  # in all the tensors of one graph: the reference net's at batch 500 make 3e7
# operations that reach outside the tensors they are given (a file's bytes, say)
_REFUSED = ("from_file", "save", "load", "_copy_from")
# operations that return their argument itself: torch.tensor(...) in forward lifts a fresh constant
# so, and replayed on a learned tensor (which it is here) it would make a leaf a graph's interior
_IDENTITIES = ("aten.lift_fresh.default",)
_KINDS = {"dtype": torch.dtype, "device": torch.device, "layout": torch.layout, "memory_format": torch.memory_format}


def record(model: nn.Module, sizes: list[tuple[bool, int]], input_shape: tuple[int, ...], folder: Path) -> None:
    """Trace `model` at each (train mode?, batch size) of `sizes` and write the graphs and the
    tensors they read to `folder`. The model's state is as it was before (a train-mode pass
    updates BatchNorm's statistics), and its mode too."""
    from nas.validator import SavedState, reachable_tensors

    was_training = model.training
    held = SavedState(model)
    held.save_new()
    recorder = _Recorder(set(reachable_tensors(model)))
    graphs = []
    try:
        for training, batch in sizes:
            model.train(training)
            images = torch.randn((batch, *input_shape), generator=torch.Generator().manual_seed(batch))
            with torch.set_grad_enabled(training):
                graphs.append({"train": training, "batch": batch, "nodes": recorder.trace(model, images)})
            held.restore()
    finally:
        model.train(was_training)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / GRAPH_FILE).write_text(json.dumps(graphs))
    torch.save([t.detach().cpu() for t in recorder.state], folder / STATE_FILE)


class _Recorder(TorchDispatchMode):
    """Records each aten operation of a forward pass as a node: {"op", "args", "kwargs", "shape"}.
    A tensor argument is named by the node that made it; one no node made (a weight, a constant)
    is state, read by a "state" node, and kept in `state` (the same tensor in every graph; a
    constant the model makes anew in each pass, as torch.tensor(...) in forward does, once)."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False  # as nas.trace's watcher: nothing is compiled while recording (the wrapper costs 1.3 s)

    def __init__(self, held: set[int]):
        super().__init__()
        self.held = held  # ids of the tensors the model holds
        self.state: list[torch.Tensor] = []
        self.index: dict[int, int] = {}  # id of a state tensor: its place in `state`
        self.merged: list[torch.Tensor] = []  # constants given an earlier one's place, held so their ids stay theirs
        self.taken: set[int] = set()  # places read in the pass being traced

    def trace(self, model: nn.Module, images: torch.Tensor) -> list[dict]:
        self.nodes: list[dict] = [{"op": "input", "shape": list(images.shape)}]
        self.made: dict[int, int] = {id(images): 0}  # id of a tensor: the node that made it
        self.alive = [images]  # every tensor seen, held so that no id is reused while tracing
        self.taken = set()
        with self:
            output = model(images)
        self.nodes.append({"op": "output", "args": self._name(output)})
        return self.nodes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        entry = {"op": str(func), "args": self._name(list(args)), "kwargs": {k: self._name(v) for k, v in
                                                                            kwargs.items()}}
        out = func(*args, **kwargs)
        self._add(entry, out)
        for i, item in enumerate(out if isinstance(out, (tuple, list)) else ()):
            if isinstance(item, torch.Tensor):
                self._add({"op": "getitem", "args": [{"node": self.made[id(out)]}, i]}, item)
        return out

    def _add(self, entry: dict, value) -> None:
        if isinstance(value, torch.Tensor):
            entry["shape"] = list(value.shape)
        self.made[id(value)] = len(self.nodes)
        self.alive.append(value)
        self.nodes.append(entry)

    def _place(self, v: torch.Tensor) -> int:
        """Its place in `state`: if the model does not hold it, that of an equal constant an earlier
        pass read and this one has not (the same constant made anew; two equal values in one pass
        are two values)."""
        if id(v) not in self.held:
            for i, t in enumerate(self.state):
                if i not in self.taken and id(t) not in self.held and t.dtype == v.dtype and t.shape == v.shape \
                        and torch.equal(t, v):
                    self.merged.append(v)
                    return i
        self.state.append(v)
        return len(self.state) - 1

    def _name(self, v):
        if isinstance(v, torch.Tensor):
            if id(v) not in self.made:
                if id(v) not in self.index:
                    self.index[id(v)] = self._place(v)
                self.taken.add(self.index[id(v)])
                self._add({"op": "state", "index": self.index[id(v)]}, v)
            return {"node": self.made[id(v)]}
        if isinstance(v, (list, tuple)):
            return [self._name(x) for x in v]
        for kind, cls in _KINDS.items():
            if isinstance(v, cls):
                return {kind: str(v).removeprefix("torch.")}
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        raise NasError(f"nas cannot record an argument of type {type(v).__name__} in the model's forward")


def _decode(v, values: list):
    if isinstance(v, list):
        return [_decode(x, values) for x in v]
    if isinstance(v, dict):
        if "node" in v:
            return values[v["node"]]
        (kind, name), = v.items()
        return torch.device(name) if kind == "device" else getattr(torch, name)
    return v


def _operation(name: str) -> torch._ops.OpOverload:
    """The aten operation `name` ("aten.convolution.default"), or a NasError."""
    namespace, _, rest = name.partition(".")
    packet, _, overload = rest.partition(".")
    if namespace != "aten" or any(word in packet for word in _REFUSED):
        raise NasError(f"the model's forward uses {name}, not one of torch's own tensor operations; nas cannot "
                       "replay it")
    try:
        return getattr(getattr(torch.ops.aten, packet), overload)
    except (AttributeError, RuntimeError):
        raise NasError(f"the model's forward uses {name}, which this torch does not have") from None


def _is_state(t) -> bool:
    """A recorded weight, or a view of one (a leaf that gets a gradient)."""
    return isinstance(t, torch.Tensor) and t.requires_grad and (t.is_leaf or (t._base is not None and t._base.is_leaf))


def _uses(graphs) -> dict[int, set[tuple[str, tuple]]]:
    """For each place in state the graphs read, how: (operation, place among its arguments) of each read."""
    uses: dict[int, set[tuple[str, tuple]]] = {}
    for nodes in graphs:
        for node in nodes:
            if node["op"] in ("state", "input"):
                continue
            for position, ref in _refs([node.get("args", []), list(node.get("kwargs", {}).values())]):
                if isinstance(ref, int) and nodes[ref]["op"] == "state":
                    uses.setdefault(nodes[ref]["index"], set()).add((node["op"], position))
    return uses


_COUNT = ("aten.add_.Tensor", (0, 0))  # a tensor counted up in place


def _counters(uses: dict, state: list[torch.Tensor]) -> set[int]:
    """Places in state of integer scalars only ever counted up in place (BatchNorm's
    num_batches_tracked), which the rules do not count; one read as a value is a value."""
    return {i for i, t in enumerate(state) if t.dim() == 0 and not t.is_floating_point() and not t.is_complex()
            and uses.get(i, {_COUNT}) == {_COUNT}}


def _zero_literals(uses: dict, state: list[torch.Tensor]) -> set[int]:
    """Places in state of zeros the model makes anew in each pass and only lifts (torch.tensor(0.0)
    in forward): no weight hides in a zero, and were one trained from it, the check after
    training would see it nonzero. Replayed as learned, `torch.where(h > 0, h, torch.tensor(0.0))`
    read as a learned value put in place of activations, a bias."""
    return {i for i, t in enumerate(state) if uses.get(i) and all(op in _IDENTITIES for op, _ in uses[i])
            and (t.is_floating_point() or t.is_complex()) and not bool(t.any())}


def _refs(v, place: tuple = ()) -> list[tuple[tuple, int]]:
    """The nodes an argument structure refers to, each with its place in it."""
    if isinstance(v, list):
        return [ref for i, x in enumerate(v) for ref in _refs(x, (*place, i))]
    if isinstance(v, dict) and "node" in v:
        return [(place, v["node"])]
    return []


class Recorded(nn.Module):
    """The recorded computation as a module: forward replays the graph of its mode and batch size.

    Every floating-point tensor recorded is a parameter, learned, except BatchNorm's running
    statistics and zeros made in forward, which are buffers: the file's process could have trained a tensor it calls a
    constant, or one it updates in place (an update of a weight replays without a gradient)."""

    def __init__(self, graphs: list[dict], state: list[torch.Tensor]):
        super().__init__()
        self.graphs = {(g["train"], g["batch"]): g["nodes"] for g in graphs}
        self.operations = {}  # name: the aten operation
        statistics = set()  # places in state of BatchNorm's running statistics
        for nodes in self.graphs.values():
            for node in nodes:
                if node["op"] not in ("state", "input", "output", "getitem"):
                    op = self.operations.setdefault(node["op"], _operation(node["op"]))
                    for i in statistics_places(op):
                        argument = node["args"][i] if i < len(node["args"]) else None
                        if isinstance(argument, dict) and nodes[argument["node"]]["op"] == "state":
                            statistics.add(nodes[argument["node"]]["index"])
        uses = _uses(self.graphs.values())
        counters, fixed = _counters(uses, state), statistics | _zero_literals(uses, state)
        self.scalars = set()  # places of integer scalars that are values, held as one-value tensors so they count
        for i, t in enumerate(state):
            if (t.is_floating_point() or t.is_complex()) and i not in fixed:
                self.register_parameter(f"s{i}", nn.Parameter(t, requires_grad=True))
            elif t.dim() == 0 and i not in counters:
                self.scalars.add(i)
                self.register_buffer(f"s{i}", t.reshape(1))
            else:
                self.register_buffer(f"s{i}", t)
        self.progress = time.monotonic()  # when the last operation replayed ended

    @property
    def batch_sizes(self) -> tuple[int, ...]:
        """The batch sizes recorded, smallest first."""
        return tuple(sorted({batch for _, batch in self.graphs}))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        nodes = self.graphs.get((self.training, len(images)))
        if nodes is None:
            raise NasError(f"no graph was recorded for a batch of {len(images)} in "
                           f"{'train' if self.training else 'eval'} mode")
        values: list = []
        for node in nodes:
            kind = node["op"]
            try:
                if kind == "input":
                    result = images
                elif kind == "state":
                    result = getattr(self, f"s{node['index']}")
                    result = result.view(()) if node["index"] in self.scalars else result
                elif kind == "output":
                    return _decode(node["args"], values)
                elif kind == "getitem":
                    sequence, key = _decode(node["args"], values)
                    result = sequence[key]
                elif kind in _IDENTITIES:
                    result, = _decode(node["args"], values)
                else:
                    op = self.operations[kind]
                    args = _decode(node["args"], values)
                    kwargs = {k: _decode(v, values) for k, v in node["kwargs"].items()}
                    # an update of a weight in place: as the model's own, without a gradient
                    updates = any(_is_state(t) for t in written_arguments(op, args, kwargs))
                    with torch.no_grad() if updates else nullcontext():
                        result = op(*args, **kwargs)
            except NasError:
                raise
            except Exception as exc:  # arguments, or a graph, no trace would record
                raise NasError(f"the model's recorded graph does not replay ({kind}: {describe(exc)}); nas "
                               "cannot judge it") from None
            if isinstance(result, torch.Tensor) and list(result.shape) != node.get("shape"):
                raise NasError(f"the model's recorded graph does not replay as recorded ({kind} gave shape "
                               f"{tuple(result.shape)}, recorded {node.get('shape')}); nas cannot judge it")
            values.append(result)
            self.progress = time.monotonic()
        raise NasError("the recorded graph has no output")


def load(folder: Path) -> Recorded:
    """The computation recorded in `folder`, checked for size and form; a NasError if it is not one."""
    if not (folder / GRAPH_FILE).is_file() or not (folder / STATE_FILE).is_file():
        raise NasError("the model's process sent a result but no recorded computation to check it by; nas cannot "
                       "judge it")
    try:
        if (folder / STATE_FILE).stat().st_size > MAX_STATE_BYTES:
            raise NasError(f"the model's recorded state is over {MAX_STATE_BYTES // 2**20} MB; no model under "
                           "the rules holds that much")
        graphs = json.loads((folder / GRAPH_FILE).read_text())
        state = torch.load(folder / STATE_FILE, weights_only=True)
        if not (isinstance(state, list) and all(isinstance(t, torch.Tensor) for t in state)):
            raise ValueError("state")
        for graph in graphs:
            nodes = graph["nodes"]
            if len(nodes) > MAX_NODES:
                raise NasError(f"the model's forward is over {MAX_NODES:,} operations; nas will not replay it")
            if not isinstance(graph["train"], bool) or not isinstance(graph["batch"], int):
                raise ValueError("graph")
            for i, node in enumerate(nodes):
                _check_node(node, i, len(state))
            if sum(math.prod(node.get("shape", ())) for node in nodes) > MAX_GRAPH_VALUES:
                raise NasError(f"the model's tensors in one pass are over {MAX_GRAPH_VALUES:,} values; nas will "
                               "not replay it")
        return Recorded(graphs, state)
    except NasError:
        raise
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RuntimeError, EOFError) as exc:
        raise NasError(f"the model's recorded computation cannot be read ({describe(exc)}); nas cannot judge "
                       "it") from None


def _check_node(node: dict, place: int, states: int) -> None:
    """A node refers only to earlier nodes and to recorded state; its shape is within bounds."""
    def refs(v):
        if isinstance(v, list):
            for x in v:
                refs(x)
        elif isinstance(v, dict):
            (kind, name), = v.items()  # a ValueError unless one
            if kind == "node":
                if not (isinstance(name, int) and 0 <= name < place):
                    raise ValueError("a reference to a later node")
            elif kind not in _KINDS or not isinstance(name, str):
                raise ValueError(f"a value of kind {kind!r}")
            elif kind == "device":
                torch.device(name)  # a RuntimeError unless one
            elif not isinstance(getattr(torch, name, None), _KINDS[kind]):
                raise ValueError(f"{name!r} is not a torch {kind}")
    if node["op"] == "state" and not (isinstance(node["index"], int) and 0 <= node["index"] < states):
        raise ValueError("state index")
    refs(node.get("args", []))
    for v in node.get("kwargs", {}).values():
        refs(v)
    shape = node.get("shape", [])
    if not all(isinstance(n, int) and n >= 0 for n in shape) or math.prod(shape) > MAX_VALUES:
        raise NasError(f"the model's forward makes a tensor of shape {tuple(shape)}, over {MAX_VALUES:,} values; "
                       "nas will not replay it")

