using IlgpuStyle.Ops;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Optimizers;

/// <summary>
/// L-BFGS on the device, as jcjohnson/neural-style and PyTorch run it: the last m pairs
/// s = x_{k+1} − x_k, y = g_{k+1} − g_k live on the device; the two-loop recursion turns −g into
/// the search direction with dot products and axpys (kernels/Reduce.cs, kernels/Elementwise.cs);
/// a strong-Wolfe line search (c1 = 1e-4, c2 = 0.9, cubic interpolation) picks the step.
/// Every buffer is allocated in the constructor; an iteration allocates nothing on the device.
/// </summary>
public sealed class LbfgsOptimizer : IOptimizer
{
    readonly IObjective objective;
    readonly int historySize;
    readonly Tensor[] s, y;
    readonly double[] rho;
    readonly Tensor direction, previousGradient, start, bestGradient;
    readonly double learningRate;
    int stored, newest = -1, iteration;
    double loss, hDiag = 1;
    bool started;

    /// <summary>Corrections kept by default (neural-style's -lbfgs_num_correction defaults to the optim package's 100): each is
    /// two image-sized vectors on the device (docs/neural-style.md).</summary>
    public const int DefaultHistory = 20;

    /// <summary>The strong-Wolfe constants: sufficient decrease (c1) and curvature (c2), as torch.optim.LBFGS and optim.lbfgs.</summary>
    const double C1 = 1e-4, C2 = 0.9;
    /// <summary>Stop when a step changes the loss by less than this, or the slope along the direction is above −this.</summary>
    const double ToleranceChange = 1e-9;
    /// <summary>A gradient whose largest element is at most this is a stationary point: no step is taken.</summary>
    const float StationaryGradient = 1e-12f;
    /// <summary>A pair (s, y) is kept only if yᵀs is above this (the curvature condition with a margin for float32 rounding).</summary>
    const double MinimumCurvature = 1e-10;
    const int MaxLineSearchEvaluations = 25;

    public LbfgsOptimizer(IObjective objective, int historySize = DefaultHistory, double learningRate = 1.0)
    {
        this.objective = objective;
        this.historySize = historySize;
        this.learningRate = learningRate;
        var device = objective.X.Device;
        var shape = objective.X.Shape;
        s = Enumerable.Range(0, historySize).Select(i => new Tensor(device, shape, $"lbfgs.s{i}")).ToArray();
        y = Enumerable.Range(0, historySize).Select(i => new Tensor(device, shape, $"lbfgs.y{i}")).ToArray();
        rho = new double[historySize];
        direction = new Tensor(device, shape, "lbfgs.d");
        previousGradient = new Tensor(device, shape, "lbfgs.g_prev");
        start = new Tensor(device, shape, "lbfgs.x0");
        bestGradient = new Tensor(device, shape, "lbfgs.g_best");
    }

    public int Evaluations { get; private set; }

    double Evaluate()
    {
        Evaluations++;
        return objective.Evaluate();
    }

    public double? Step()
    {
        var x = objective.X;
        var g = objective.Gradient;
        if (!started)
        {
            loss = Evaluate();
            started = true;
        }
        if (Op.NormInf(g) <= StationaryGradient) return null;

        // Direction.
        if (iteration == 0)
        {
            Op.Copy(direction, g);
            Op.Scale(direction, -1f);
            hDiag = 1;
        }
        else
        {
            // y = g − g_prev, s = (step taken, kept in s[newest] by the line search).
            int k = newest;
            Op.Axpby(y[k], 1f, g, -1f, previousGradient);
            double ys = Op.Dot(y[k], s[k]);
            if (ys > MinimumCurvature)
            {
                rho[k] = 1.0 / ys;
                hDiag = ys / Op.Dot(y[k], y[k]);
                stored = Math.Min(stored + 1, historySize);
            }
            else
            {
                // Discard this pair (curvature condition failed). Its slot was the oldest pair's when the
                // history was full, and that pair is now overwritten: stop counting it.
                newest = (newest - 1 + historySize) % historySize;
                stored = Math.Min(stored, historySize - 1);
            }
            TwoLoop(g);
        }
        Op.Copy(previousGradient, g);

        double gtd = Op.Dot(g, direction);
        if (gtd > -ToleranceChange) return null;   // not a descent direction any more

        double t = iteration == 0 ? Math.Min(1.0, 1.0 / Op.NormL1(g)) * learningRate : learningRate;
        Op.Copy(start, x);
        double f0 = loss;
        (loss, t) = StrongWolfe(f0, gtd, t);

        // The step actually taken becomes the next s.
        newest = (newest + 1) % historySize;
        Op.Axpby(s[newest], 1f, x, -1f, start);
        iteration++;
        if (Math.Abs(loss - f0) < ToleranceChange) return null;
        return loss;
    }

    /// <summary>direction = −H·g, H the L-BFGS inverse-Hessian estimate from the stored pairs (newest first, then back).</summary>
    void TwoLoop(Tensor g)
    {
        Op.Copy(direction, g);
        Op.Scale(direction, -1f);
        var alpha = new double[historySize];
        for (int j = 0; j < stored; j++)
        {
            int i = (newest - j + historySize) % historySize;
            alpha[i] = rho[i] * Op.Dot(s[i], direction);
            Op.Axpy(direction, (float)-alpha[i], y[i]);
        }
        Op.Scale(direction, (float)hDiag);
        for (int j = stored - 1; j >= 0; j--)
        {
            int i = (newest - j + historySize) % historySize;
            double beta = rho[i] * Op.Dot(y[i], direction);
            Op.Axpy(direction, (float)(alpha[i] - beta), s[i]);
        }
    }

    /// <summary>x ← start + t·direction, then f and its gradient there.</summary>
    (double F, double Gtd) Probe(double t)
    {
        Op.Axpby(objective.X, 1f, start, (float)t, direction);
        double f = Evaluate();
        return (f, Op.Dot(objective.Gradient, direction));
    }

    /// <summary>
    /// Finds t with f(t) ≤ f0 + c1·t·g0ᵀd and |g(t)ᵀd| ≤ c2·|g0ᵀd|: first bracket (grow t until the
    /// function rises or the slope turns), then zoom (cubic interpolation inside the bracket).
    /// Leaves X at start + t·d with the gradient there, and returns (f(t), t).
    /// </summary>
    (double F, double T) StrongWolfe(double f0, double gtd0, double t)
    {
        double tPrev = 0, fPrev = f0, gtdPrev = gtd0;
        var (f, gtd) = Probe(t);
        int evaluations = 1;
        double lo = 0, hi = 0, fLo = 0, fHi = 0, gtdLo = 0, gtdHi = 0;
        bool bracketed = false;
        double bestT = 0, bestF = f0;
        void Keep(double tt, double ff) { if (ff < bestF) { bestF = ff; bestT = tt; Op.Copy(bestGradient, objective.Gradient); } }
        Keep(t, f);

        while (evaluations < MaxLineSearchEvaluations)
        {
            if (f > f0 + C1 * t * gtd0 || (evaluations > 1 && f >= fPrev))
            {
                (lo, fLo, gtdLo, hi, fHi, gtdHi) = (tPrev, fPrev, gtdPrev, t, f, gtd);
                bracketed = true;
                break;
            }
            if (Math.Abs(gtd) <= -C2 * gtd0) return (f, t);            // strong Wolfe met
            if (gtd >= 0)
            {
                (lo, fLo, gtdLo, hi, fHi, gtdHi) = (t, f, gtd, tPrev, fPrev, gtdPrev);
                bracketed = true;
                break;
            }
            double next = Cubic(tPrev, fPrev, gtdPrev, t, f, gtd, t + 0.01 * (t - tPrev), t * 10);
            (tPrev, fPrev, gtdPrev) = (t, f, gtd);
            t = next;
            (f, gtd) = Probe(t);
            evaluations++;
            Keep(t, f);
        }

        if (bracketed)
        {
            while (evaluations < MaxLineSearchEvaluations && Math.Abs(hi - lo) * 1 > ToleranceChange)
            {
                double a = Math.Min(lo, hi), b = Math.Max(lo, hi);
                t = Cubic(lo, fLo, gtdLo, hi, fHi, gtdHi, a, b);
                // Stay away from the bracket's ends (insufficient progress otherwise).
                double margin = 0.1 * (b - a);
                if (t - a < margin || b - t < margin) t = 0.5 * (a + b);
                (f, gtd) = Probe(t);
                evaluations++;
                Keep(t, f);
                if (f > f0 + C1 * t * gtd0 || f >= fLo)
                    (hi, fHi, gtdHi) = (t, f, gtd);
                else
                {
                    if (Math.Abs(gtd) <= -C2 * gtd0) return (f, t);
                    if (gtd * (hi - lo) >= 0) (hi, fHi, gtdHi) = (lo, fLo, gtdLo);
                    (lo, fLo, gtdLo) = (t, f, gtd);
                }
            }
        }

        // Out of evaluations: go back to the best point seen (or stay at the start if none improved).
        Op.Axpby(objective.X, 1f, start, (float)bestT, direction);
        if (bestT == 0)
        {
            Op.Copy(objective.Gradient, previousGradient);
            return (f0, 0);
        }
        Op.Copy(objective.Gradient, bestGradient);
        return (bestF, bestT);
    }

    /// <summary>Minimizer of the cubic through (x1, f1, g1), (x2, f2, g2), clamped to [lo, hi]; the midpoint if it has none.</summary>
    static double Cubic(double x1, double f1, double g1, double x2, double f2, double g2, double lo, double hi)
    {
        if (lo > hi) (lo, hi) = (hi, lo);
        double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
        double d2Square = d1 * d1 - g1 * g2;
        if (d2Square >= 0 && x1 != x2)
        {
            double d2 = Math.Sqrt(d2Square);
            double min = x1 <= x2
                ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
            if (double.IsFinite(min)) return Math.Min(Math.Max(min, lo), hi);
        }
        return (lo + hi) / 2;
    }

    public void Save(BinaryWriter writer)
    {
        writer.Write(historySize); writer.Write(stored); writer.Write(newest); writer.Write(iteration);
        writer.Write(loss); writer.Write(hDiag); writer.Write(started);
        foreach (var r in rho) writer.Write(r);
        TensorIO.Write(writer, previousGradient);
        for (int i = 0; i < historySize; i++) { TensorIO.Write(writer, s[i]); TensorIO.Write(writer, y[i]); }
    }

    public void Load(BinaryReader reader)
    {
        int history = reader.ReadInt32();
        if (history != historySize) throw new InvalidDataException($"checkpoint has an L-BFGS history of {history}, this run {historySize}");
        stored = reader.ReadInt32(); newest = reader.ReadInt32(); iteration = reader.ReadInt32();
        loss = reader.ReadDouble(); hDiag = reader.ReadDouble(); started = reader.ReadBoolean();
        for (int i = 0; i < historySize; i++) rho[i] = reader.ReadDouble();
        TensorIO.Read(reader, previousGradient);
        for (int i = 0; i < historySize; i++) { TensorIO.Read(reader, s[i]); TensorIO.Read(reader, y[i]); }
        // The gradient at X: evaluation is deterministic, so this equals the one the run had.
        if (started) loss = Evaluate();
    }

    public void Dispose()
    {
        foreach (var t in s.Concat(y)) t.Dispose();
        direction.Dispose(); previousGradient.Dispose(); start.Dispose(); bestGradient.Dispose();
    }
}
