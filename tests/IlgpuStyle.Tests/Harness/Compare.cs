
namespace IlgpuStyle.Tests.Harness;

/// <summary>Every tolerance of the suite, in one table.</summary>
public static class Tolerance
{
    /// <summary>Relative L2 error of a float32 kernel against the float64 reference, short sums.</summary>
    public const double Kernel = 1e-5;
    /// <summary>The same, where each output sums thousands of products (long float32 sums).</summary>
    public const double LongSum = 1e-4;
    /// <summary>Float64 reference backward against central differences.</summary>
    public const double CentralDifference = 1e-6;
    /// <summary>A whole network (many layers of float32) against a float64 composition.</summary>
    public const double Network = 1e-4;
    /// <summary>Float32 device gradient of a whole network against float64 central differences.</summary>
    public const double NetworkGradient = 2e-3;
    /// <summary>
    /// The same float32 network evaluated tile by tile against the whole image at once: only the order of the sums
    /// differs (a Gram matrix summed over tiles, an image gradient added from overlapping patches).
    /// </summary>
    public const double Tiled = 1e-4;
    /// <summary>
    /// The same with max pooling: where a window holds a near-tie, sums rounded in another order (another patch size,
    /// another tuned kernel) can pick the other element, and that element's whole gradient moves with it.
    /// </summary>
    public const double TiledMaxPooling = 1e-3;
    /// <summary>
    /// A sum of many same-signed float32 terms (the reductions add with Kahan's compensation, so the error does not grow
    /// with the count): 300,007 terms near 0.1, where plain float32 addition in one thread is far off.
    /// </summary>
    public const double CompensatedSum = 1e-6;
    /// <summary>
    /// VGG19's content and style losses against libtorch's (float64) on the fixture. Before the reductions were
    /// compensated, PoCL's style loss was 1.06e-4 off with max pooling (2.1e-5 with average) whatever the convolution and
    /// Gram variants: its pass 2 added 512² partials, one per Gram element, in plain float32.
    /// </summary>
    public const double LibtorchLoss = 1e-4;
    /// <summary>The image gradient against libtorch's on the fixture, relative L2.</summary>
    public const double LibtorchGradient = 1e-3;
    /// <summary>
    /// Winograd F(2×2, 3×3) against float64: its transforms' entries are 1 and ½ (exact in float32) and each output adds 16
    /// rounded terms per channel instead of 9, so it stays near the direct sum's error: 2.6e-7 … 6.7e-7 measured on the VGG19
    /// layers (Conv2dWinogradTests prints them); bounded as a long direct sum's rounding, a decade below LongSum.
    /// </summary>
    public const double WinogradF2x2 = 1e-5;
    /// <summary>
    /// Winograd F(4×4, 3×3): G's ⅙ and 1/24 are not exact in float32, Bᵀ's 4 and 5 and Aᵀ's 8 amplify the rounding of every
    /// intermediate sum, and the output is a difference of terms up to 36× larger than itself: 1.6e-6 … 4.9e-6 measured on
    /// the VGG19 layers (deepest layers largest), ten times the direct sum's. Bounded at ten times the largest measured.
    /// </summary>
    public const double WinogradF4x4 = 5e-5;
    /// <summary>
    /// A whole iteration's content and style losses with every convolution Winograd F(4×4) against Direct on the same image:
    /// each layer's output carries F(4×4)'s error (≤ 5e-6 measured) into the next, and the losses are sums of squares of
    /// them, so their relative difference stays near the deepest layer's error; bounded at 1e-4 as issued.
    /// </summary>
    public const double WinogradIterationLoss = 1e-4;
    /// <summary>The image gradient of the same comparison (16 backward layers of F(4×4) error on top of the forward's).</summary>
    public const double WinogradIterationGradient = 1e-3;
    public static double Winograd(IlgpuStyle.Devices.WinogradTile tile) =>
        IlgpuStyle.Devices.WinogradTiles.OutputTile(tile) == 2 ? WinogradF2x2 : WinogradF4x4;
}

public static class Compare
{
    /// <summary>
    /// Asserts ‖got − expected‖₂ / ‖expected‖₂ ≤ tol and that every value is finite (a NaN means an
    /// element the kernel never wrote: outputs are poisoned with NaN before launch). On failure the
    /// message names what, where, the worst index, the max difference and the first mismatches.
    /// For kernels that accumulate (result = initial + contribution), pass `scale: initial`: the
    /// error is then relative to the larger of the two norms, since float32 rounding is relative to
    /// the terms, not to a result that cancels to near zero.
    /// </summary>
    public static void RelativeL2(string what, IReadOnlyList<double> expected, IReadOnlyList<float> got, double tol, string where = "",
        IReadOnlyList<double>? scale = null)
    {
        Assert.True(expected.Count == got.Count, $"{what} {where}: expected {expected.Count} values, got {got.Count}");
        double num = 0, den = 0, worst = -1;
        int worstIndex = -1, firstNonFinite = -1;
        for (int i = 0; i < got.Count; i++)
        {
            if (!float.IsFinite(got[i]) && firstNonFinite < 0) firstNonFinite = i;
            double d = got[i] - expected[i];
            num += d * d;
            den += expected[i] * expected[i];
            if (!(Math.Abs(d) <= worst)) { worst = Math.Abs(d); worstIndex = i; }
        }
        if (firstNonFinite >= 0)
            Assert.Fail($"{what} {where}: element {firstNonFinite} is {got[firstNonFinite]} (expected {expected[firstNonFinite]}): not written, or overflow");
        if (scale is not null) den = Math.Max(den, scale.Sum(v => v * v));
        double rel = den == 0 ? Math.Sqrt(num) : Math.Sqrt(num / den);
        if (rel <= tol) return;
        var mismatches = Enumerable.Range(0, got.Count)
            .Where(i => Math.Abs(got[i] - expected[i]) > tol * (Math.Abs(expected[i]) + 1e-3))
            .Take(5).Select(i => $"[{i}] expected {expected[i]:G9} got {got[i]:G9}");
        Assert.Fail($"{what} {where}: relative L2 error {rel:E3} > {tol:E1}; worst index {worstIndex} " +
                    $"(expected {expected[worstIndex]:G9}, got {got[worstIndex]:G9}, |diff| {worst:E3}); first mismatches: {string.Join("; ", mismatches)}");
    }

    public static void RelativeL2(string what, IReadOnlyList<double> expected, IReadOnlyList<double> got, double tol, string where = "") =>
        RelativeL2Double(what, expected, got, tol, where);

    static void RelativeL2Double(string what, IReadOnlyList<double> expected, IReadOnlyList<double> got, double tol, string where)
    {
        double num = 0, den = 0;
        for (int i = 0; i < got.Count; i++) { double d = got[i] - expected[i]; num += d * d; den += expected[i] * expected[i]; }
        double rel = den == 0 ? Math.Sqrt(num) : Math.Sqrt(num / den);
        Assert.True(rel <= tol, $"{what} {where}: relative L2 error {rel:E3} > {tol:E1}; " +
            string.Join("; ", Enumerable.Range(0, Math.Min(5, got.Count)).Select(i => $"[{i}] expected {expected[i]:G9} got {got[i]:G9}")));
    }

    public static void Scalar(string what, double expected, double got, double tol, string where = "")
    {
        double rel = Math.Abs(got - expected) / Math.Max(Math.Abs(expected), 1e-30);
        Assert.True(rel <= tol, $"{what} {where}: expected {expected:G9}, got {got:G9}, relative error {rel:E3} > {tol:E1}");
    }
}

/// <summary>
/// Random data from a fixed seed, printed on failure (every message that names the case includes it): by default a
/// stable hash of the calling test's name, so each test has its own data and a failure reproduces; ILGPUSTYLE_SEED=N
/// mixes N in, to explore other data (`ILGPUSTYLE_SEED=7 bash tools/test.sh`).
/// </summary>
public sealed class Rand
{
    readonly Random random;
    public int Seed { get; }
    public Rand([System.Runtime.CompilerServices.CallerMemberName] string test = "") : this(StableSeed(test)) { }
    public Rand(int seed) { Seed = seed; random = new Random(seed); }

    /// <summary>FNV-1a of the name, mixed with ILGPUSTYLE_SEED when it is set: the same on every run and machine.</summary>
    public static int StableSeed(string name)
    {
        uint h = 2166136261;
        foreach (char ch in name + Environment.GetEnvironmentVariable("ILGPUSTYLE_SEED")) { h ^= ch; h *= 16777619; }
        return (int)(h & 0x7fffffff);
    }

    public double[] Doubles(long n, double scale = 1.0)
    {
        var a = new double[n];
        for (long i = 0; i < n; i++) a[i] = (random.NextDouble() * 2 - 1) * scale;
        return a;
    }

    /// <summary>Random values rounded to float32, so device and reference see the same numbers.</summary>
    public double[] Floats(long n, double scale = 1.0) => Doubles(n, scale).Select(v => (double)(float)v).ToArray();

    public int Next(int max) => random.Next(max);
    public int[] Indices(long n, int count) => Enumerable.Range(0, count).Select(_ => random.Next((int)n)).Distinct().ToArray();

    public override string ToString() => $"seed {Seed}";
}

public static class Data
{
    public static float[] ToFloat(this double[] a) => a.Select(v => (float)v).ToArray();
    public static double[] ToDouble(this float[] a) => a.Select(v => (double)v).ToArray();
    public static double[] Plus(this double[] a, double[] b) => a.Select((v, i) => v + b[i]).ToArray();
}
