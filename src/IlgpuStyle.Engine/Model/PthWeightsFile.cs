using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace IlgpuStyle.Model;

/// <summary>
/// VGG19's convolutions from a PyTorch state dict (`torch.save(model.state_dict(), …)`): the zip format of PyTorch 1.6
/// and later (archive/data.pkl and one file per storage under archive/data/) and the legacy format of earlier versions
/// (five pickles and the storages one after another), which the 2017 torchvision file uses. Keys are torchvision's
/// (features.0.weight … features.28.bias for conv1_1 … conv5_1, optionally under a "module." or "state_dict" wrapper);
/// shapes (out, in, kh, kw) are ours. The weights expect the preprocessing they were trained with: torchvision's RGB in
/// [0, 1] normalized by mean and std, or, for neural-style-pt's conversion of the Caffe model, BGR 0–255 minus the means
/// (<see cref="InputPreprocessing"/>); <see cref="InputPreprocessing.FoldInto"/> turns the former into ours.
///
/// A .pth is a Python pickle, and a pickle can name any function to call. It is read as PyTorch's
/// `weights_only=True` reads it: by our own small unpickler (<see cref="StateDictUnpickler"/>), which knows only the
/// globals a state dict of tensors uses and refuses every other one by name, before anything is built.
/// </summary>
public static class PthWeightsFile
{
    /// <summary>torchvision's VGG19: the index in `features` of each convolution, conv1_1 … conv5_4.</summary>
    static readonly int[] FeatureIndex = { 0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34 };

    /// <summary>torchvision's VGG16, whose file is the one most often mistaken for VGG19's.</summary>
    static readonly int[] Vgg16Index = { 0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28 };

    public static NetworkWeights Load(string path, InputPreprocessing preprocessing)
    {
        string file = Path.GetFileName(path);
        if (Directory.Exists(path)) throw new WeightsFileException($"weights file '{path}' is a directory, not a .pth file");
        if (!File.Exists(path)) throw new WeightsFileException($"weights file '{path}' does not exist");
        var tensors = Read(path);
        var kernels = new Dictionary<string, float[]>();
        var biases = new Dictionary<string, float[]>();
        string prefix = Prefix(tensors.Keys, file);
        // Every key first (a file of another network says so), then every shape, then the data.
        var layers = Vgg19Layers.Convolutions.Select((spec, i) => (Spec: spec, Key: $"{prefix}features.{FeatureIndex[i]}")).ToList();
        foreach (var (spec, key) in layers.Where(l => !tensors.ContainsKey(l.Key + ".weight") || !tensors.ContainsKey(l.Key + ".bias")))
        {
            bool vgg16 = Vgg16Index.All(k => tensors.ContainsKey($"{prefix}features.{k}.weight")) && !tensors.ContainsKey($"{prefix}features.34.weight");
            throw new WeightsFileException($"weights file '{file}': no tensor {key}.weight ({spec.Name})" +
                                           (vgg16 ? ": its convolutions sit where VGG16's do; is this VGG16?" : "; is this a VGG19 state dict?"));
        }
        long[] KernelShape(ConvLayerSpec spec) => new long[] { spec.OutChannels, spec.InChannels, 3, 3 };
        foreach (var (spec, key) in layers)
        {
            tensors[key + ".weight"].CheckShape(KernelShape(spec), key + ".weight", file);
            tensors[key + ".bias"].CheckShape(new long[] { spec.OutChannels }, key + ".bias", file);
        }
        foreach (var (spec, key) in layers)
        {
            kernels[spec.Name] = tensors[key + ".weight"].Floats(KernelShape(spec), key + ".weight", file);
            biases[spec.Name] = tensors[key + ".bias"].Floats(new long[] { spec.OutChannels }, key + ".bias", file);
        }
        return preprocessing.FoldInto(new NetworkWeights { Kernels = kernels, Biases = biases, Source = path });
    }

    /// <summary>The key prefix of torchvision's layout ("" or "module."), or one line saying what the keys look like instead.</summary>
    static string Prefix(IEnumerable<string> keys, string file)
    {
        var list = keys.ToList();
        foreach (var prefix in new[] { "", "module.", "model." })
            if (list.Contains(prefix + "features.0.weight")) return prefix;
        string seen = string.Join(", ", list.Take(4)) + (list.Count > 4 ? ", …" : "");
        throw new WeightsFileException($"weights file '{file}': no features.0.weight (torchvision's VGG19 layout); its {list.Count} tensors are {seen}" +
                                       (list.Any(k => k.Contains("layer1.") || k.StartsWith("bn1")) ? ": a ResNet's, not VGG19's" : ""));
    }

    /// <summary>Every tensor of the file by name, not yet read (shapes are checked before any data is).</summary>
    public static IReadOnlyDictionary<string, PthTensor> Read(string path)
    {
        string file = Path.GetFileName(path);
        try
        {
            return WeightsPlaces.Format(path) switch
            {
                "PyTorch (zip)" => ReadZip(path, file),
                "PyTorch (legacy pickle)" => ReadLegacy(path, file),
                _ => throw new WeightsFileException($"weights file '{file}' is not a PyTorch file (neither a zip archive nor a pickle)"),
            };
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            throw new WeightsFileException($"weights file '{file}': truncated or corrupt ({e.Message})", e);
        }
    }

    /// <summary>PyTorch ≥ 1.6: a zip archive with NAME/data.pkl and the storages as NAME/data/KEY.</summary>
    static IReadOnlyDictionary<string, PthTensor> ReadZip(string path, string file)
    {
        var bytes = File.ReadAllBytes(path);
        // Kept open (in memory) for the tensors' data, which is read after every shape has been checked.
        var zip = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read);
        var pickle = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("data.pkl") && e.FullName.Count(c => c == '/') == 1)
            ?? throw new WeightsFileException($"weights file '{file}': a zip archive without data.pkl: not a PyTorch file");
        string root = pickle.FullName[..^"data.pkl".Length];
        var dict = StateDict(new StateDictUnpickler(Entry(pickle), file).Load(), file);
        return dict.ToDictionary(kv => kv.Key, kv => kv.Value with
        {
            Data = () =>
            {
                var entry = zip.GetEntry($"{root}data/{kv.Value.Storage.Key}")
                    ?? throw new WeightsFileException($"weights file '{file}': no storage {root}data/{kv.Value.Storage.Key} for {kv.Key}");
                return Entry(entry);
            },
        });
    }

    static byte[] Entry(ZipArchiveEntry entry)
    {
        using var s = entry.Open();
        using var copy = new MemoryStream();
        s.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>
    /// PyTorch &lt; 1.6: pickles of the magic number, the protocol version and the system's info, then the state dict
    /// (storages as persistent ids), then the list of storage keys in the order their data follows, each as a little-endian
    /// int64 element count and the elements.
    /// </summary>
    static IReadOnlyDictionary<string, PthTensor> ReadLegacy(string path, string file)
    {
        var bytes = File.ReadAllBytes(path);
        int at = 0;
        object? Next()
        {
            var unpickler = new StateDictUnpickler(bytes, file, at);
            var value = unpickler.Load();
            at = unpickler.Position;
            return value;
        }
        if (Next() is not System.Numerics.BigInteger magic || magic != System.Numerics.BigInteger.Parse("119547037146038801333356"))
            throw new WeightsFileException($"weights file '{file}': a pickle, but not one PyTorch wrote (no magic number)");
        Next();   // the protocol version
        Next();   // sys_info: byte order and type sizes (little-endian, as every machine this runs on)
        var dict = StateDict(Next(), file);
        var keys = (Next() as List<object?> ?? throw new WeightsFileException($"weights file '{file}': no list of storages after the state dict"))
            .Select(k => k as string ?? throw new WeightsFileException($"weights file '{file}': a storage key that is not a string")).ToList();
        var offsets = new Dictionary<string, (int Offset, long Count)>();
        var storages = dict.Values.Select(t => t.Storage).DistinctBy(s => s.Key).ToDictionary(s => s.Key);
        foreach (var key in keys)
        {
            long count = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(at, 8));
            int size = storages.TryGetValue(key, out var s) ? s.ElementSize : 4;
            if (count < 0 || at + 8 + count * size > bytes.Length)
                throw new WeightsFileException($"weights file '{file}': truncated: storage {key} needs {count * size:N0} bytes, {Math.Max(0, bytes.Length - at - 8):N0} are left");
            offsets[key] = (at + 8, count);
            at += 8 + (int)(count * size);
        }
        return dict.ToDictionary(kv => kv.Key, kv => kv.Value with
        {
            Data = () =>
            {
                if (!offsets.TryGetValue(kv.Value.Storage.Key, out var o))
                    throw new WeightsFileException($"weights file '{file}': no data for storage {kv.Value.Storage.Key} ({kv.Key})");
                return bytes.AsSpan(o.Offset, (int)(o.Count * kv.Value.Storage.ElementSize)).ToArray();
            },
        });
    }

    /// <summary>The state dict in what was unpickled: the dict itself, or under "state_dict" / "model" as checkpoints keep it.</summary>
    static Dictionary<string, PthTensor> StateDict(object? value, string file)
    {
        if (value is Dictionary<object, object?> outer)
            foreach (var wrapper in new[] { "state_dict", "model" })
                if (outer.TryGetValue(wrapper, out var inner) && inner is Dictionary<object, object?>) value = inner;
        if (value is not Dictionary<object, object?> dict)
            throw new WeightsFileException($"weights file '{file}': holds {Describe(value)}, not a state dict of tensors");
        var tensors = new Dictionary<string, PthTensor>();
        foreach (var (key, v) in dict)
            if (key is string name && v is PthTensor t) tensors[name] = t;
        return tensors;
    }

    static string Describe(object? value) => value switch
    {
        null => "None",
        List<object?> l => $"a list of {l.Count}",
        _ => value.GetType().Name,
    };
}

/// <summary>A storage a tensor views: its key in the file, the element type's name and size, and its length.</summary>
public sealed record PthStorage(string Key, string Type, int ElementSize, long Count);

/// <summary>A tensor of the file: its storage, offset, shape and strides; its data is read when asked for.</summary>
public sealed record PthTensor(PthStorage Storage, long Offset, long[] Shape, long[] Stride)
{
    internal Func<byte[]> Data { get; init; } = () => throw new InvalidOperationException("no data");

    /// <summary>The elements as float32 in row-major order, after checking the shape against the one expected.</summary>
    public void CheckShape(long[] expected, string name, string file)
    {
        if (!Shape.SequenceEqual(expected))
            throw new WeightsFileException($"weights file '{file}': {name} has shape ({string.Join(", ", Shape)}), VGG19 needs ({string.Join(", ", expected)})");
    }

    public float[] Floats(long[] expected, string name, string file)
    {
        CheckShape(expected, name, file);
        var bytes = Data();
        long count = Shape.Aggregate(1L, (a, b) => a * b);
        var result = new float[count];
        var index = new long[Shape.Length];
        for (long i = 0; i < count; i++)
        {
            long element = Offset;
            for (int d = 0; d < Shape.Length; d++) element += index[d] * Stride[d];
            if ((element + 1) * Storage.ElementSize > bytes.Length)
                throw new WeightsFileException($"weights file '{file}': {name} reaches past the end of its storage (truncated?)");
            result[i] = Storage.Type switch
            {
                "FloatStorage" => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan((int)(element * 4))),
                "DoubleStorage" => (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan((int)(element * 8))),
                "HalfStorage" => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan((int)(element * 2))),
                _ => throw new WeightsFileException($"weights file '{file}': {name} holds {Storage.Type}, not floating point"),
            };
            for (int d = Shape.Length - 1; d >= 0 && ++index[d] == Shape[d]; d--) index[d] = 0;
        }
        return result;
    }
}

/// <summary>
/// The pickle opcodes `torch.save` writes (protocols 2 to 4), run on a stack, with the globals a state dict needs and
/// no other: collections.OrderedDict, torch._utils._rebuild_tensor(_v2), torch._utils._rebuild_parameter and the
/// floating-point storage types. Any other global (os.system, a model's class, …) is refused by name the moment it is
/// read; nothing is ever called but these.
/// </summary>
public sealed class StateDictUnpickler
{
    readonly byte[] data;
    readonly string file;
    int at;
    readonly Stack<object?> stack = new();
    readonly Stack<int> marks = new();
    readonly Dictionary<long, object?> memo = new();

    sealed record Global(string Module, string Name);
    sealed record Mark;

    static readonly HashSet<string> Allowed = new()
    {
        "collections.OrderedDict", "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
        "torch.FloatStorage", "torch.DoubleStorage", "torch.HalfStorage",
    };

    public StateDictUnpickler(byte[] data, string file, int start = 0) => (this.data, this.file, at) = (data, file, start);

    /// <summary>Where the next pickle starts (the legacy format has several in a row).</summary>
    public int Position => at;

    byte Byte() => at < data.Length ? data[at++] : throw new EndOfStreamException("the pickle ends before its STOP");
    ReadOnlySpan<byte> Bytes(long n) => n >= 0 && at + n <= data.Length ? data.AsSpan((at += (int)n) - (int)n, (int)n) : throw new EndOfStreamException("the pickle ends inside a value");
    string Line() { int end = Array.IndexOf(data, (byte)'\n', at); if (end < 0) throw new EndOfStreamException("unterminated line"); var s = Encoding.ASCII.GetString(data, at, end - at); at = end + 1; return s; }

    List<object?> PopToMark()
    {
        int mark = marks.Pop();
        var items = new List<object?>();
        while (stack.Count > mark) items.Add(stack.Pop());
        items.Reverse();
        return items;
    }

    public object? Load()
    {
        while (true)
        {
            byte op = Byte();
            switch (op)
            {
                case 0x80: Byte(); break;                                         // PROTO
                case 0x95: Bytes(8); break;                                       // FRAME
                case (byte)'.': return stack.Pop();                               // STOP
                case (byte)'(': marks.Push(stack.Count); break;                   // MARK
                case (byte)'}': stack.Push(new Dictionary<object, object?>()); break;
                case (byte)']': stack.Push(new List<object?>()); break;
                case (byte)')': stack.Push(Array.Empty<object?>()); break;
                case (byte)'N': stack.Push(null); break;
                case 0x88: stack.Push(true); break;
                case 0x89: stack.Push(false); break;
                case (byte)'K': stack.Push((long)Byte()); break;                 // BININT1
                case (byte)'M': stack.Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2))); break;
                case (byte)'J': stack.Push((long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))); break;
                case 0x8a: stack.Push(Long(Bytes(Byte()))); break;              // LONG1
                case 0x8b: stack.Push(Long(Bytes(BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))))); break;
                case (byte)'G': stack.Push(BinaryPrimitives.ReadDoubleBigEndian(Bytes(8))); break;
                case (byte)'X': stack.Push(Encoding.UTF8.GetString(Bytes(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4))))); break;
                case 0x8c: stack.Push(Encoding.UTF8.GetString(Bytes(Byte()))); break;
                case 0x8d: stack.Push(Encoding.UTF8.GetString(Bytes((long)BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8))))); break;
                case (byte)'U': stack.Push(Encoding.Latin1.GetString(Bytes(Byte()))); break;
                case (byte)'T': stack.Push(Encoding.Latin1.GetString(Bytes(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4))))); break;
                case (byte)'C': stack.Push(Bytes(Byte()).ToArray()); break;
                case (byte)'B': stack.Push(Bytes(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4))).ToArray()); break;
                case (byte)'q': memo[Byte()] = stack.Peek(); break;              // BINPUT
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4))] = stack.Peek(); break;
                case 0x94: memo[memo.Count] = stack.Peek(); break;              // MEMOIZE
                case (byte)'p': memo[long.Parse(Line())] = stack.Peek(); break;
                case (byte)'h': stack.Push(Memo(Byte())); break;                 // BINGET
                case (byte)'j': stack.Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)))); break;
                case (byte)'g': stack.Push(Memo(long.Parse(Line()))); break;
                case (byte)'t': stack.Push(PopToMark().ToArray()); break;        // TUPLE
                case 0x85: stack.Push(new[] { stack.Pop() }); break;
                case 0x86: { var b = stack.Pop(); var a = stack.Pop(); stack.Push(new[] { a, b }); break; }
                case 0x87: { var c = stack.Pop(); var b = stack.Pop(); var a = stack.Pop(); stack.Push(new[] { a, b, c }); break; }
                case (byte)'c': stack.Push(Check(new Global(Line(), Line()))); break;   // GLOBAL
                case 0x93: { var name = (string)stack.Pop()!; var module = (string)stack.Pop()!; stack.Push(Check(new Global(module, name))); break; }
                case (byte)'R': { var args = (object?[])stack.Pop()!; var f = stack.Pop(); stack.Push(Call(f, args)); break; }   // REDUCE
                case 0x81: { var args = (object?[])stack.Pop()!; var cls = stack.Pop(); stack.Push(Call(cls, args)); break; }    // NEWOBJ
                case (byte)'b': stack.Pop(); break;                               // BUILD: a state dict's _metadata, a parameter's hooks
                case (byte)'Q': stack.Push(Persistent(stack.Pop())); break;      // BINPERSID
                case (byte)'s': { var v = stack.Pop(); var k = stack.Pop(); Dict(stack.Peek())[k!] = v; break; }
                case (byte)'u': { var items = PopToMark(); var d = Dict(stack.Peek()); for (int i = 0; i + 1 < items.Count; i += 2) d[items[i]!] = items[i + 1]; break; }
                case (byte)'a': { var v = stack.Pop(); List(stack.Peek()).Add(v); break; }
                case (byte)'e': { var items = PopToMark(); List(stack.Peek()).AddRange(items); break; }
                default:
                    throw new WeightsFileException($"weights file '{file}': pickle opcode 0x{op:x2} at byte {at - 1} is not one a PyTorch state dict uses; refused");
            }
        }
    }

    object? Memo(long key) => memo.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"memo entry {key} was never stored");

    static System.Numerics.BigInteger Long(ReadOnlySpan<byte> bytes) => new(bytes, isUnsigned: false, isBigEndian: false);

    Dictionary<object, object?> Dict(object? o) => o as Dictionary<object, object?> ?? throw new InvalidDataException("SETITEM on something that is not a dict");
    List<object?> List(object? o) => o as List<object?> ?? throw new InvalidDataException("APPEND on something that is not a list");

    Global Check(Global g) =>
        Allowed.Contains($"{g.Module}.{g.Name}") ? g
            : throw new WeightsFileException($"weights file '{file}': refused: its pickle names {g.Module}.{g.Name}, which a state dict of tensors never " +
                                             "needs (a pickle can run any function it names; only tensors and dicts are read)");

    object? Call(object? f, object?[] args)
    {
        if (f is not Global g) throw new InvalidDataException("a call of something that is not a function");
        switch ($"{g.Module}.{g.Name}")
        {
            case "collections.OrderedDict": return new Dictionary<object, object?>();
            case "torch._utils._rebuild_parameter": return args[0];
            case "torch._utils._rebuild_tensor":
            case "torch._utils._rebuild_tensor_v2":
                var storage = args[0] as PthStorage ?? throw new InvalidDataException("a tensor without a storage");
                long offset = Convert.ToInt64(args[1]);
                long[] Longs(object? o) => ((object?[])o!).Select(v => v is System.Numerics.BigInteger big ? (long)big : Convert.ToInt64(v)).ToArray();
                return new PthTensor(storage, offset, Longs(args[2]), Longs(args[3]));
            default: throw new WeightsFileException($"weights file '{file}': refused: {g.Module}.{g.Name} is a type, not a function to call");
        }
    }

    /// <summary>('storage', type, key, location, count[, view]): the storage a tensor views.</summary>
    object Persistent(object? pid)
    {
        if (pid is not object?[] { Length: >= 5 } t || t[0] as string != "storage" || t[1] is not Global type)
            throw new InvalidDataException("a persistent id that is not a storage");
        int size = type.Name switch { "FloatStorage" => 4, "DoubleStorage" => 8, "HalfStorage" => 2, _ => 0 };
        return new PthStorage(t[2] as string ?? Convert.ToString(t[2])!, type.Name, size, Convert.ToInt64(t[4]));
    }
}
