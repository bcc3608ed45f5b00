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
    /// <summary>One iteration; returns f at the new X (whose gradient is in the objective's Gradient), or null once converged.</summary>
    double? Step();

    /// <summary>Function evaluations (forward + backward passes) so far.</summary>
    int Evaluations { get; }
}
