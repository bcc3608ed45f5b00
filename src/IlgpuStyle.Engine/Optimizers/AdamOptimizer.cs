using IlgpuStyle.Ops;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Optimizers;

/// <summary>Adam on the device (kernels/Adam.cs): one evaluation and one kernel per iteration.</summary>
public sealed class AdamOptimizer : IOptimizer
{
    readonly IObjective objective;
    readonly Tensor m, v;
    readonly float lr, beta1, beta2, eps;
    int step;

    public AdamOptimizer(IObjective objective, float learningRate, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f)
    {
        this.objective = objective;
        lr = learningRate; this.beta1 = beta1; this.beta2 = beta2; this.eps = eps;
        m = new Tensor(objective.X.Device, objective.X.Shape, "adam.m");
        v = new Tensor(objective.X.Device, objective.X.Shape, "adam.v");
        Op.Fill(m, 0f);
        Op.Fill(v, 0f);
    }

    public int Evaluations { get; private set; }

    public bool LossBeforeStep => true;

    public double? Step()
    {
        double f = objective.Evaluate();
        Evaluations++;
        Op.AdamStep(objective.X, objective.Gradient, m, v, lr, beta1, beta2, eps, ++step);
        return f;
    }

    public void Save(BinaryWriter writer)
    {
        writer.Write(step);
        TensorIO.Write(writer, m);
        TensorIO.Write(writer, v);
    }

    public void Load(BinaryReader reader)
    {
        step = reader.ReadInt32();
        TensorIO.Read(reader, m);
        TensorIO.Read(reader, v);
    }

    public void Dispose() { m.Dispose(); v.Dispose(); }
}
