using System.Text.RegularExpressions;
using IlgpuStyle.Tests.Transfer;

namespace IlgpuStyle.Tests.Tools;

/// <summary>
/// `explain` for a style transfer says what the tape runs: conv rows show only the input gradient with the ReLU mask
/// fused (the weights are frozen) and name their kernels, every symbol of a derivative is defined, the transfer's
/// options reach the tape (masks, normalization, pooling), --values prints the loss terms and gradient norms, and
/// --dot writes a graph that parses. Runs on the default device (PoCL inside the root the suite runs in).
/// </summary>
[Collection(DeviceTests.Collection)]
public class ExplainTests(ITestOutputHelper output)
{
    static string Demo(string file) => Path.Combine(AppContext.BaseDirectory, "demo", file);

    static (string Forward, string Backward, string Symbols, string After) Sections(string stdout)
    {
        int f = stdout.IndexOf("Forward ("), b = stdout.IndexOf("Backward ("), s = stdout.IndexOf("Symbols"), r = stdout.IndexOf("\n\n", s);
        Assert.True(f >= 0 && b > f && s > b, $"explain's sections are missing:\n{stdout}");
        return (stdout[f..b], stdout[b..s], stdout[s..(r < 0 ? stdout.Length : r)], r < 0 ? "" : stdout[r..]);
    }

    /// <summary>explain with the given options, on VGG19 unless they name --model (without a weights file the default is ResNet18).</summary>
    static string Explain(params string[] args)
    {
        if (!args.Contains("--model")) args = new[] { "--model", "vgg19" }.Concat(args).ToArray();
        var (code, stdout, stderr) = CliRunner.Run(new[] { "explain" }.Concat(args).ToArray());
        Assert.True(code == 0, $"explain {string.Join(' ', args)}: exit {code}\n{stderr}\n{stdout}");
        return stdout;
    }

    [Fact]
    public void ConvRowsOfATransferShowTheInputGradientWithTheMaskFusedAndTheirKernels()
    {
        string stdout = Explain("--image-size", "32");
        output.WriteLine(stdout);
        var (forward, backward, _, _) = Sections(stdout);
        var convRows = backward.Split('\n').Where(l => l.Contains("conv2d+relu")).ToList();
        Assert.Equal(13, convRows.Count);
        foreach (var row in convRows)
        {
            Assert.Contains("dx += Wᵀ⊛(dy·[y>0])", row);
            Assert.DoesNotContain("dW", row.Split("kernels:")[0].Replace("no dW", ""));
            // The kernels it launched: the mask fused into the padding of dy (Direct, or Winograd's runs) or into Winograd's
            // input transform, then the input gradient; never a weight gradient.
            Assert.Matches(@"kernels: .*(conv2d_pad|winograd_pad|winograd_input_\dx\d)_relu_mask, .*conv2d_bwd_input_", row);
            Assert.DoesNotContain("bwd_weights", row);
            Assert.DoesNotContain("relu_bwd", row);
        }
        foreach (var row in forward.Split('\n').Where(l => l.Contains("conv2d+relu")))
            Assert.Matches(@"(conv2d_fwd_\w+|conv2d_fwd_winograd_\w+, winograd_output_\w+)\s*$", row);
    }

    [Fact]
    public void EverySymbolOfEveryDerivativeIsDefined()
    {
        // Every node kind: masks (two regions), normalized gradients, max pooling, TV.
        string stdout = Explain("--image-size", "32", "-s", Demo("mosaic.png"), "-s", Demo("brush_strokes.png"),
            "--content-mask", Demo("mask_left.png"), "--content-mask", Demo("mask_right.png"), "--normalize-gradients", "--pooling", "max");
        var (forward, backward, symbols, _) = Sections(stdout);
        foreach (var op in new[] { "conv2d+relu", "maxpool2d", "gram", "mask", "normalize", "content_loss", "style_loss", "tv_loss" })
            Assert.True(forward.Contains($" {op} "), $"no {op} node:\n{forward}");
        AssertSymbolsDefined(backward, symbols);
    }

    /// <summary>
    /// ResNet18's tape: its nine residual adds say that both inputs receive the sum's gradient, the stride-2 convolutions
    /// and the overlapping pool are on it, and the fan-out is visible: `pool` is read by block layer1.0's first convolution
    /// and by its add. Every symbol is defined.
    /// </summary>
    [Fact]
    public void ResNetsResidualAddsShowTheFanOut()
    {
        Model.ResNet18Tests.RequireModel();
        string stdout = Explain("--model", "resnet18", "--image-size", "64");
        output.WriteLine(stdout);
        Assert.Contains("network: ResNet18", stdout);
        var (forward, backward, symbols, _) = Sections(stdout);
        var adds = forward.Split('\n').Where(l => l.Contains(" add+relu ")).ToList();
        Assert.Equal(9, adds.Count);
        Assert.Contains(" maxpool2d ", forward);
        Assert.Contains(" conv2d ", forward);   // conv2 of a block and the shortcuts: no ReLU of their own
        Assert.Equal(2, forward.Split('\n').Count(l => Regex.IsMatch(l, @"\spool\(1, 64, \d+, \d+\)")));   // pool feeds conv1 and the add
        Assert.Equal(9, backward.Split('\n').Count(l => l.Contains("da += g,  db += g")));
        AssertSymbolsDefined(backward, symbols);
    }

    static void AssertSymbolsDefined(string backward, string symbols)
    {
        var defined = symbols.Split('\n').Skip(1).Where(l => l.Length > 12)
            .SelectMany(l => l[..12].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .SelectMany(s => Regex.Matches(s, "[A-Za-z_]+").Select(m => m.Value)).ToHashSet();
        var words = new HashSet<string> { "of", "window" };
        foreach (var row in backward.Split('\n').Skip(1).Where(l => l.Trim().Length > 0))
        {
            // The derivative: after "#  op  layer", before a remark in parentheses and the kernels.
            string derivative = Regex.Replace(row.Trim(), @"^\d+\s+\S+\s+\S+\s+", "").Split("   ")[0];
            foreach (Match m in Regex.Matches(derivative, "[A-Za-z]+"))
            {
                string token = m.Value;
                bool known = defined.Contains(token) || words.Contains(token)
                             || (token.Length > 1 && token[0] == 'd' && defined.Contains(token[1..]));
                Assert.True(known, $"'{token}' in `{derivative}` is not defined under Symbols:\n{symbols}");
            }
        }
    }

    [Fact]
    public void ValuesAndDotFile()
    {
        string dot = Path.Combine(Path.GetTempPath(), $"ilgpustyle-tape-{Guid.NewGuid():N}.dot");
        try
        {
            string stdout = Explain("--image-size", "32", "--init", "random", "--values", "--dot", dot);
            var (forward, _, _, rest) = Sections(stdout);
            // Each loss node shows its value, and the total is their sum.
            var values = Regex.Matches(forward, @"L = ([0-9.E+\-]+)").Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(7, values.Count);   // content, 5 style, TV
            var total = Regex.Match(rest, @"total ([0-9.E+\-]+) = content");
            Assert.True(total.Success, rest);
            double sum = values.Sum(), reported = double.Parse(total.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(Math.Abs(sum - reported) <= 1e-4 * Math.Abs(reported), $"loss nodes sum to {sum}, the total says {reported}");
            var image = Regex.Match(rest, @"^\s+image\s+\(1, 3, \d+, \d+\)\s+([0-9.E+\-]+)\s*$", RegexOptions.Multiline);
            Assert.True(image.Success, $"no gradient norm of the image:\n{rest}");
            double norm = double.Parse(image.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(norm > 0 && double.IsFinite(norm), $"‖∂L/∂image‖ = {norm}");

            var graph = Dot.Parse(File.ReadAllText(dot));
            var ops = graph.Nodes.Where(n => n.StartsWith("op")).ToList();
            Assert.Equal(29, ops.Count);
            // Every op reads a tensor and feeds a tensor or L; every edge joins declared nodes; everything reaches L.
            foreach (var op in ops)
            {
                Assert.Contains(graph.Edges, e => e.To == op);
                Assert.Contains(graph.Edges, e => e.From == op);
            }
            var reaches = new HashSet<string> { "L" };
            for (bool grew = true; grew;)
            {
                grew = false;
                foreach (var e in graph.Edges) if (reaches.Contains(e.To) && reaches.Add(e.From)) grew = true;
            }
            Assert.Contains("t0", reaches);   // the image
            Assert.All(ops, op => Assert.Contains(op, reaches));
        }
        finally { File.Delete(dot); }
    }

    [Fact]
    public void DotNeverOverwritesAnInput()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"ilgpustyle-dot-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string content = Path.Combine(dir, "content.png");
            File.Copy(Demo("chelsea.png"), content);
            byte[] before = File.ReadAllBytes(content);
            var (code, _, stderr) = CliRunner.Run("explain", "--image-size", "32", "-c", content, "-s", Demo("mosaic.png"), "--dot", content);
            Assert.Equal(1, code);
            Assert.Contains("--dot", stderr);
            Assert.Contains("would overwrite", stderr);
            Assert.Single(stderr.Trim().Split('\n'));
            Assert.Equal(before, File.ReadAllBytes(content));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void DotParserRefusesBrokenGraphs()
    {
        Assert.Throws<FormatException>(() => Dot.Parse("digraph g { a [label=\"x\"]; a -> b; }"));      // b undeclared
        Assert.Throws<FormatException>(() => Dot.Parse("digraph g { a [label=\"x]; }"));               // open string
        Assert.Throws<FormatException>(() => Dot.Parse("digraph g { a [label=\"x\"] }"));              // no semicolon
        Assert.Throws<FormatException>(() => Dot.Parse("digraph g { a [label=\"x\"];"));               // no closing brace
        var ok = Dot.Parse("digraph g {\n  rankdir=TB;\n  node [fontsize=10];\n  a [label=\"x\\n\\\"y\\\"\"];\n  b [shape=box];\n  a -> b;\n}\n");
        Assert.Equal(new[] { "a", "b" }, ok.Nodes);
    }
}

/// <summary>
/// A strict reader of the DOT subset the tape writes: `digraph NAME {`, then statements ending in `;`: `key=value`,
/// `node [attrs]`, `ID [attrs]` (a node) and `ID -> ID` (an edge between declared nodes), then `}`. Attribute values
/// are identifiers, numbers or quoted strings with \" \\ \n escapes. Anything else is a FormatException.
/// </summary>
static class Dot
{
    public sealed record Graph(List<string> Nodes, List<(string From, string To)> Edges);

    public static Graph Parse(string text)
    {
        var tokens = Tokens(text);
        int i = 0;
        string Next() => i < tokens.Count ? tokens[i++] : throw new FormatException("unexpected end of the graph");
        void Expect(string t) { string got = Next(); if (got != t) throw new FormatException($"expected '{t}', got '{got}'"); }
        static bool IsId(string t) => Regex.IsMatch(t, @"^[A-Za-z_][A-Za-z0-9_]*$|^-?[0-9.]+$");
        Expect("digraph");
        if (!IsId(Next())) throw new FormatException("the graph needs a name");
        Expect("{");
        var nodes = new List<string>();
        var edges = new List<(string, string)>();
        while (true)
        {
            string t = Next();
            if (t == "}") break;
            if (!IsId(t)) throw new FormatException($"'{t}' is not an identifier");
            string after = Next();
            if (after == "=") { Value(Next()); Expect(";"); continue; }
            if (after == "->")
            {
                string to = Next();
                if (!IsId(to)) throw new FormatException($"'{to}' is not an identifier");
                edges.Add((t, to));
                Expect(";");
                continue;
            }
            if (after == "[")
            {
                while (true)
                {
                    string key = Next();
                    if (key == "]") break;
                    if (!IsId(key)) throw new FormatException($"'{key}' is not an attribute name");
                    Expect("=");
                    Value(Next());
                    string sep = Next();
                    if (sep == "]") break;
                    if (sep != ",") throw new FormatException($"expected ',' or ']', got '{sep}'");
                }
                Expect(";");
                if (t != "node") nodes.Add(t);
                continue;
            }
            throw new FormatException($"unexpected '{after}' after '{t}'");
        }
        if (i != tokens.Count) throw new FormatException("text after the closing brace");
        foreach (var (from, to) in edges)
            if (!nodes.Contains(from) || !nodes.Contains(to)) throw new FormatException($"edge {from} -> {to} joins an undeclared node");
        return new Graph(nodes, edges);

        static void Value(string v)
        {
            if (v.StartsWith('"') || IsId(v)) return;
            throw new FormatException($"'{v}' is not a value");
        }
    }

    static List<string> Tokens(string text)
    {
        var tokens = new List<string>();
        for (int i = 0; i < text.Length;)
        {
            char c = text[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c == '"')
            {
                var sb = new System.Text.StringBuilder("\"");
                for (i++; ; i++)
                {
                    if (i >= text.Length) throw new FormatException("a string is not closed");
                    if (text[i] == '\n') throw new FormatException("a line break inside a string");
                    if (text[i] == '\\')
                    {
                        if (i + 1 >= text.Length || "\"\\n".IndexOf(text[i + 1]) < 0) throw new FormatException($"bad escape in a string");
                        i++;
                        continue;
                    }
                    if (text[i] == '"') { i++; break; }
                    sb.Append(text[i]);
                }
                tokens.Add(sb.ToString());
                continue;
            }
            if (c == '-' && i + 1 < text.Length && text[i + 1] == '>') { tokens.Add("->"); i += 2; continue; }
            if ("{}[];,=".IndexOf(c) >= 0) { tokens.Add(c.ToString()); i++; continue; }
            int start = i;
            while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '_' or '.' or '-') && !(text[i] == '-' && i + 1 < text.Length && text[i + 1] == '>')) i++;
            if (i == start) throw new FormatException($"unexpected '{c}'");
            tokens.Add(text[start..i]);
        }
        return tokens;
    }
}

/// <summary>
/// `explain --pictures DIR`: one file per picture, sized by the shapes they show, and showing something: a gradient
/// that is not flat grey, feature maps that are not one colour, a Gram matrix that differs from its target, a tape
/// with a row per op.
/// </summary>
[Collection(DeviceTests.Collection)]
public class ExplainPicturesTests(ITestOutputHelper output)
{
    static SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24> Png(string path) =>
        SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(path);

    /// <summary>Distinct colours in a rectangle of the picture.</summary>
    static int Colours(SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24> image, int x0, int y0, int w, int h)
    {
        var seen = new HashSet<SixLabors.ImageSharp.PixelFormats.Rgb24>();
        for (int y = y0; y < y0 + h; y++)
            for (int x = x0; x < x0 + w; x++) seen.Add(image[x, y]);
        return seen.Count;
    }

    [Theory]
    [InlineData("resnet18", "stem,layer1", "layer1", new[] { "stem", "layer1.1" }, new[] { 64, 64 })]
    [InlineData("vgg19", "conv1_1,conv2_1", "conv2_1", new[] { "conv1_1", "conv2_1" }, new[] { 64, 128 })]
    public void OneFilePerPictureEachShowingSomething(string model, string styleLayers, string contentLayers, string[] layers, int[] channels)
    {
        string dir = Path.Combine(Path.GetTempPath(), "ilgpustyle-pictures-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (code, stdout, stderr) = CliRunner.Run("explain", "--model", model, "--image-size", "40", "--style-layers", styleLayers,
                "--content-layers", contentLayers, "--pictures", dir);
            output.WriteLine(stdout);
            Assert.True(code == 0, stderr);
            var expected = new[] { "gradient.png", "tape.png", "tape.svg" }
                .Concat(layers.Select(l => $"features_{l}.png")).Concat(layers.Select(l => $"gram_{l}.png")).Order().ToArray();
            Assert.Equal(expected, Directory.GetFiles(dir).Select(Path.GetFileName).Order().ToArray());

            // The demo image at 40 px is 40×26; its panels are enlarged ×7 (to at least 256 px): x, ∂L/∂x, ‖∂L/∂x‖.
            using (var gradient = Png(Path.Combine(dir, "gradient.png")))
            {
                Assert.Equal(10 + 3 * (280 + 10), gradient.Width);
                Assert.True(Colours(gradient, 10 + 290, 30, 280, 26 * 7) > 50, "∂L/∂x is flat: no gradient reached the image");
            }
            foreach (var (layer, c) in layers.Zip(channels))
            {
                using var gram = Png(Path.Combine(dir, $"gram_{layer}.png"));
                int zoom = (int)Math.Ceiling(192.0 / c), side = c * zoom;
                Assert.True(gram.Height == 20 + 10 + side + 20 + 5, $"gram_{layer}.png is {gram.Width}×{gram.Height} for {c} channels");
                // G and A differ (the image is not the style), so the G − A panel is not one colour.
                Assert.True(Colours(gram, 10 + 2 * (side + 10), 30, side, side) > 10, $"G − A of {layer} is one colour");
                using var features = Png(Path.Combine(dir, $"features_{layer}.png"));
                Assert.True(Colours(features, 0, 30, features.Width, features.Height - 30) > 50, $"the feature maps of {layer} are flat");
            }
            using var tape = Png(Path.Combine(dir, "tape.png"));
            int ops = Regex.Match(stdout, @"Forward \((\d+) ops").Groups[1].Value is { Length: > 0 } n ? int.Parse(n) : -1;
            output.WriteLine($"ops {ops}, tape {tape.Width}×{tape.Height}");
            // A row per network op, the image's row and L's: the branch ops (a content loss, two Grams and style losses, TV)
            // stand beside the layers they read.
            int networkOps = ops - 6;
            Assert.True(tape.Height == 56 + (networkOps + 2) * 24 + 70, $"tape.png is {tape.Height} px high for {networkOps} network ops");
            Assert.Contains("<svg", File.ReadAllText(Path.Combine(dir, "tape.svg")));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void PicturesIntoAFileIsRefused()
    {
        string file = Path.GetTempFileName();
        try
        {
            var before = File.ReadAllBytes(file);
            var (code, _, stderr) = CliRunner.Run("explain", "--image-size", "32", "--pictures", file);
            Assert.Equal(1, code);
            Assert.Contains("is a file; give a folder", stderr);
            Assert.Equal(before, File.ReadAllBytes(file));
        }
        finally { File.Delete(file); }
    }
}
