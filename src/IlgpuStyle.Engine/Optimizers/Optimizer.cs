using IlgpuStyle.Tensors;

namespace IlgpuStyle.Optimizers;

/// <summary>
/// A differentiable function of the tensor <see cref="X"/>: <see cref="Evaluate"/> computes f(X)
/// and writes ∇f(X) into <see cref="Gradient"/>. Both tensors belong to the objective.
/// </summary>
public interface IObjective
{
    Tensor X { get; }
    Tensor Gradient { get; }
    double Evaluate();
}

/// <summary>Minimizes an objective in place, one iteration per <see cref="Step"/>.</summary>
public interface IOptimizer : IDisposable
{
    /// <summary>One iteration; returns f at the new X (whose gradient is in the objective's Gradient), or null once converged.
    /// Optimizers with <see cref="LossBeforeStep"/> return f at the X the step started from instead.</summary>
    double? Step();

    /// <summary>True when <see cref="Step"/> returns the loss of the X before its update (Adam evaluates, then moves).</summary>
    bool LossBeforeStep => false;

    /// <summary>Function evaluations (forward + backward passes) so far.</summary>
    int Evaluations { get; }

    /// <summary>Writes everything the next <see cref="Step"/> depends on (not X: the caller saves it).</summary>
    void Save(BinaryWriter writer);

    /// <summary>Restores what <see cref="Save"/> wrote, X already restored; the next Step continues exactly as it would have.</summary>
    void Load(BinaryReader reader);
}
