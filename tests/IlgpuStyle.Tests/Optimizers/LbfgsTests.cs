using IlgpuStyle.Devices;
using IlgpuStyle.Optimizers;

namespace IlgpuStyle.Tests.Optimizers;

/// <summary>
/// L-BFGS on functions whose minimum is known: an ill-conditioned quadratic (minimum at c, condition number 100) and
/// Rosenbrock's valley (minimum at (1, …, 1)). Each must reach its minimum within an iteration budget that plain
/// gradient descent, which is what L-BFGS becomes if its curvature pairs are wrong, would need thousands of steps for.
/// The function runs on the host; X and its gradient live on each accelerator, as an image's do.
/// </summary>
[Collection(DeviceTests.Collection)]
public class LbfgsTests(ITestOutputHelper output)
{
    sealed class HostObjective(ComputeDevice device, double[] start, Func<double[], (double F, double[] G)> f) : IObjective, IDisposable
    {
        public Tensor X { get; } = Tensor.FromArray(device, Shape4.Vector(start.Length), start.Select(v => (float)v).ToArray(), "x");
        public Tensor Gradient { get; } = new(device, Shape4.Vector(start.Length), "g");

        public double Evaluate()
        {
            var (value, g) = f(X.ToArray().Select(v => (double)v).ToArray());
            Gradient.CopyFrom(g.Select(v => (float)v).ToArray());
            return value;
        }

        public void Dispose() { X.Dispose(); Gradient.Dispose(); }
    }

    /// <summary>Runs L-BFGS until it stops or the budget runs out; returns the iterations it used and where it ended.</summary>
    static (int Iterations, double[] X, double F) Minimize(ComputeDevice d, double[] start, Func<double[], (double, double[])> f, int budget)
    {
        using var objective = new HostObjective(d, start, f);
        using var lbfgs = new LbfgsOptimizer(objective, historySize: 10);
        int iterations = 0;
        double last = double.NaN;
        while (iterations < budget && lbfgs.Step() is { } value) { iterations++; last = value; }
        return (iterations, objective.X.ToArray().Select(v => (double)v).ToArray(), last);
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void AnIllConditionedQuadraticReachesItsMinimum(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        var r = new Rand();
        const int n = 60;
        // f(x) = ½ Σ a_i (x_i − c_i)², a_i from 1 to 100: the minimum is x = c, f = 0.
        var a = Enumerable.Range(0, n).Select(i => Math.Pow(100, i / (n - 1.0))).ToArray();
        var c = r.Floats(n, 5);
        var start = r.Floats(n, 5);
        (double, double[]) F(double[] x) =>
            (0.5 * x.Select((v, i) => a[i] * (v - c[i]) * (v - c[i])).Sum(), x.Select((v, i) => a[i] * (v - c[i])).ToArray());
        var (iterations, x, f) = Minimize(d, start, F, budget: 80);
        double worst = x.Select((v, i) => Math.Abs(v - c[i])).Max();
        output.WriteLine($"{accelerator} {r}: {iterations} iterations, f {f:E2}, max |x − c| {worst:E2}");
        Assert.True(worst < 1e-3, $"{accelerator} {r}: after {iterations} iterations x is {worst:E2} from the minimum (f {f:E2})");
    }

    [Theory, MemberData(nameof(Accelerators.All), MemberType = typeof(Accelerators))]
    public void RosenbrocksValleyReachesOneOneOne(AcceleratorCase accelerator)
    {
        var d = Accelerators.Get(accelerator);
        // Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)², from the classic start (−1.2, 1, −1.2, 1, …): minimum at all ones, f = 0.
        const int n = 6;
        static (double, double[]) F(double[] x)
        {
            double f = 0;
            var g = new double[x.Length];
            for (int i = 0; i + 1 < x.Length; i++)
            {
                double t = x[i + 1] - x[i] * x[i], u = 1 - x[i];
                f += 100 * t * t + u * u;
                g[i] += -400 * t * x[i] - 2 * u;
                g[i + 1] += 200 * t;
            }
            return (f, g);
        }
        var start = Enumerable.Range(0, n).Select(i => i % 2 == 0 ? -1.2 : 1.0).ToArray();
        var (iterations, x, f) = Minimize(d, start, F, budget: 150);
        double worst = x.Max(v => Math.Abs(v - 1));
        output.WriteLine($"{accelerator}: {iterations} iterations, f {f:E2}, x {string.Join(", ", x.Select(v => v.ToString("F5")))}");
        Assert.True(worst < 2e-3, $"{accelerator}: after {iterations} iterations x is {worst:E2} from (1, …, 1) (f {f:E2})");
    }
}
