"""Reference bytes for torchsave.test: CPython's own pickler on stand-ins for torch's classes.

torch is not installed here, so fake `torch`/`torch._utils` modules provide objects whose __reduce_ex__ and
persistent ids match torch.save's (serialization.py `_save`, Tensor._reduce_ex_internal). The pickler itself is
CPython's, so the opcode stream (memo numbering, tuple opcodes, batching, framing) is the real thing. Prints one
hex line per protocol; the test pins them.
"""
import collections
import pickle
import sys
import types

torch = types.ModuleType("torch")
_utils = types.ModuleType("torch._utils")
torch._utils = _utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = _utils


def _rebuild_tensor_v2(*args):
    raise AssertionError


def _rebuild_parameter(*args):
    raise AssertionError


for f in (_rebuild_tensor_v2, _rebuild_parameter):
    f.__module__ = "torch._utils"
    f.__qualname__ = f.__name__
    setattr(_utils, f.__name__, f)


class FloatStorage:
    pass


class LongStorage:
    pass


for c in (FloatStorage, LongStorage):
    c.__module__ = "torch"
    setattr(torch, c.__name__, c)


class Storage:
    def __init__(self, cls, numel):
        self.cls, self.numel = cls, numel


class Tensor:
    def __init__(self, storage, offset, size, stride, parameter=False):
        self.storage, self.offset, self.size, self.stride, self.parameter = storage, offset, size, stride, parameter

    def __reduce_ex__(self, proto):
        if self.parameter:
            data = Tensor(self.storage, self.offset, self.size, self.stride)
            return (_rebuild_parameter, (data, True, collections.OrderedDict()))
        # fresh tuples, as torch.Size → tuple() and Tensor.stride() return new objects each call
        args = (self.storage, self.offset, tuple(list(self.size)), tuple(list(self.stride)), False, collections.OrderedDict())
        return (_rebuild_tensor_v2, args)


def dump(obj, proto):
    import io

    id_map = {}
    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=proto)

    def persistent_id(o):
        if isinstance(o, Storage):
            key = id_map.setdefault(id(o), str(len(id_map)))
            return ("storage", o.cls, key, "cpu", o.numel)
        return None

    p.persistent_id = persistent_id
    p.dump(obj)
    return buf.getvalue()


def sample():
    s0 = Storage(FloatStorage, 6)
    s1 = Storage(LongStorage, 3)
    sd = collections.OrderedDict()
    sd["a.weight"] = Tensor(s0, 0, (2, 3), (3, 1))
    sd["a.weight_t"] = Tensor(s0, 0, (3, 2), (1, 3))
    sd["ids"] = Tensor(s1, 1, (2,), (1,))
    sd["p"] = Tensor(s0, 2, (2,), (2,), parameter=True)
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("a", {"version": 2})])
    return {"model": sd, "epoch": 70000, "neg": -5, "huge": 2**40, "lr": 0.5, "hist": [1, 2, 3], "name": "x" * 300}


if __name__ == "__main__":
    for proto in (2, 4):
        print(dump(sample(), proto).hex())
