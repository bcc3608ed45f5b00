#!/usr/bin/python3
"""Writes the weights files the loader tests read, each by the library that writes that format for real users:
PyTorch's torch.save (the zip format and the legacy one), h5py (Keras's layout) and the protobuf library (Caffe's
NetParameter, both its current `layer` form and the V1 `layers` form of the VGG release, through
tools/caffe_weights.proto compiled by protoc) and the onnx library (a VGG19 graph as the model zoo's), all with the
same seeded VGG19-shaped numbers, plus the files that must
be refused (VGG16's layout, a ResNet's keys, a pickle that names os.system, truncated copies). Usage:
weights-fixtures.py DIR. Needs python3-torch, python3-h5py, python3-protobuf, python3-onnx and protobuf-compiler (Debian)."""
import collections, os, pickle, subprocess, sys, tempfile

import h5py
import numpy as np
import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
SEED = 20261207
print(f"weights fixtures: seed {SEED}, into {out}")
rng = np.random.default_rng(SEED)

# VGG19's sixteen convolutions: (name, Keras block name, torchvision features index, in, out)
convs = []
index, channels = 0, 3
for block, (count, width) in enumerate([(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)], start=1):
    for i in range(1, count + 1):
        convs.append((f"conv{block}_{i}", f"block{block}_conv{i}", index, channels, width))
        channels = width
        index += 2
    index += 1  # the pooling after each block

state = collections.OrderedDict()
arrays = []
with h5py.File(os.path.join(out, "vgg19_seeded.h5"), "w") as f:
    f.attrs["layer_names"] = [c[1].encode() for c in convs]
    for name, keras, idx, cin, cout in convs:
        w = (rng.standard_normal((cout, cin, 3, 3)) * np.sqrt(2.0 / (cin * 9))).astype(np.float32)
        b = (rng.standard_normal(cout) * 0.1).astype(np.float32)
        arrays.append((name, w, b))
        state[f"features.{idx}.weight"] = torch.from_numpy(w)
        state[f"features.{idx}.bias"] = torch.from_numpy(b)
        g = f.create_group(keras)
        g.attrs["weight_names"] = [f"{keras}_W_1:0".encode(), f"{keras}_b_1:0".encode()]
        g.create_dataset(f"{keras}_W_1:0", data=w.transpose(2, 3, 1, 0))  # (kh, kw, in, out)
        g.create_dataset(f"{keras}_b_1:0", data=b)

torch.save(state, os.path.join(out, "vgg19_seeded_zip.pth"))
torch.save(state, os.path.join(out, "vgg19_seeded_legacy.pth"), _use_new_zipfile_serialization=False)
# A checkpoint that keeps the state dict under "state_dict", its tensors as Parameters.
torch.save({"epoch": 3, "state_dict": collections.OrderedDict((k, torch.nn.Parameter(v)) for k, v in state.items())},
           os.path.join(out, "vgg19_checkpoint.pth"))

# VGG16's layout (convolutions at 0 2 5 7 10 12 14 17 19 21 24 26 28): tiny tensors, refused by its keys.
vgg16 = collections.OrderedDict()
for idx in [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]:
    vgg16[f"features.{idx}.weight"] = torch.zeros(1)
    vgg16[f"features.{idx}.bias"] = torch.zeros(1)
torch.save(vgg16, os.path.join(out, "vgg16_layout.pth"))
torch.save(collections.OrderedDict([("conv1.weight", torch.zeros(2)), ("bn1.weight", torch.zeros(2)),
                                    ("layer1.0.conv1.weight", torch.zeros(2))]), os.path.join(out, "resnet_keys.pth"))


class Evil:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


torch.save({"features.0.weight": Evil()}, os.path.join(out, "evil.pth"))
with open(os.path.join(out, "evil_legacy.pth"), "wb") as f:
    pickle.dump(Evil(), f, protocol=2)

# Caffe: the protobuf library's own serialization of NetParameter, in both forms Caffe reads.
proto_dir = tempfile.mkdtemp()
here = os.path.dirname(os.path.abspath(__file__))
subprocess.run(["protoc", f"--proto_path={here}", f"--python_out={proto_dir}", os.path.join(here, "caffe_weights.proto")], check=True)
sys.path.insert(0, proto_dir)
import caffe_weights_pb2 as caffe  # noqa: E402

current = caffe.NetParameter(name="VGG_ILSVRC_19_layers")
legacy = caffe.NetParameter(name="VGG_ILSVRC_19_layers")
bottom = "data"
for name, w, b in arrays:
    layer = current.layer.add(name=name, type="Convolution", bottom=[bottom], top=[name])
    blob = layer.blobs.add()
    blob.shape.dim.extend(w.shape)
    blob.data.extend(w.ravel().tolist())
    blob = layer.blobs.add()
    blob.shape.dim.extend(b.shape)
    blob.data.extend(b.tolist())
    current.layer.add(name="relu" + name[4:], type="ReLU", bottom=[name], top=[name])
    v1 = legacy.layers.add(name=name, type=caffe.V1LayerParameter.CONVOLUTION, bottom=[bottom], top=[name])
    blob = v1.blobs.add(num=w.shape[0], channels=w.shape[1], height=w.shape[2], width=w.shape[3])
    blob.data.extend(w.ravel().tolist())
    blob = v1.blobs.add(num=1, channels=1, height=1, width=b.shape[0])
    blob.data.extend(b.tolist())
    legacy.layers.add(name="relu" + name[4:], type=caffe.V1LayerParameter.RELU, bottom=[name], top=[name])
    bottom = name
open(os.path.join(out, "vgg19_seeded.caffemodel"), "wb").write(current.SerializeToString())
open(os.path.join(out, "vgg19_seeded_v1.caffemodel"), "wb").write(legacy.SerializeToString())
# VGG16's layers (no conv3_4): refused by name.
vgg16 = caffe.NetParameter(name="VGG_ILSVRC_16_layers")
for name in ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv4_1"]:
    layer = vgg16.layer.add(name=name, type="Convolution")
    layer.blobs.add().data.extend([0.0])
    layer.blobs.add().data.extend([0.0])
open(os.path.join(out, "vgg16_layers.caffemodel"), "wb").write(vgg16.SerializeToString())

# ONNX: a VGG19 graph as the model zoo's (Conv, Relu, MaxPool), written by the onnx library.
import onnx  # noqa: E402
from onnx import helper, numpy_helper, TensorProto  # noqa: E402
nodes, inits, x = [], [], "data"
pools_after = {"conv1_2", "conv2_2", "conv3_4", "conv4_4", "conv5_4"}
for name, w, b in arrays:
    inits += [numpy_helper.from_array(w, name + "_weight"), numpy_helper.from_array(b, name + "_bias")]
    nodes.append(helper.make_node("Conv", [x, name + "_weight", name + "_bias"], [name], name=name, kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]))
    nodes.append(helper.make_node("Relu", [name], [name + "_relu"]))
    x = name + "_relu"
    if name in pools_after:
        nodes.append(helper.make_node("MaxPool", [x], [name + "_pool"], kernel_shape=[2, 2], strides=[2, 2]))
        x = name + "_pool"
graph = helper.make_graph(nodes, "vgg19", [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 224, 224])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)], inits)
model = helper.make_model(graph, producer_name="weights-fixtures", opset_imports=[helper.make_opsetid("", 7)])
onnx.save(model, os.path.join(out, "vgg19_seeded.onnx"))
bn = helper.make_model(helper.make_graph(
    [helper.make_node("Conv", ["data", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
     helper.make_node("BatchNormalization", ["c", "s", "o", "m", "v"], ["y"])], "vgg19_bn",
    [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 8, 8])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    [numpy_helper.from_array(np.zeros((64, 3, 3, 3), np.float32), "w")] +
    [numpy_helper.from_array(np.ones(64, np.float32), n) for n in ["s", "o", "m", "v"]]))
onnx.save(bn, os.path.join(out, "vgg19_bn.onnx"))

for name in ["vgg19_seeded_zip.pth", "vgg19_seeded_legacy.pth", "vgg19_seeded.caffemodel", "vgg19_seeded.onnx", "vgg19_seeded.h5"]:
    data = open(os.path.join(out, name), "rb").read()
    open(os.path.join(out, "truncated_" + name), "wb").write(data[: len(data) // 2])

import google.protobuf  # noqa: E402
open(os.path.join(out, "DONE"), "w").write(f"seed {SEED}, torch {torch.__version__}, h5py {h5py.__version__}, protobuf {google.protobuf.__version__}, onnx {onnx.__version__}\n")
print("weights fixtures: done")
