using IlgpuStyle.Tensors;

namespace IlgpuStyle.Ops;

/// <summary>Argument checks every op makes before it launches anything.</summary>
static class Check
{
    public static void SameShape(string op, Tensor a, Tensor b)
    {
        if (a.Shape != b.Shape)
            throw new ArgumentException($"{op}: shape mismatch between '{a.Name}' {a.Shape} and '{b.Name}' {b.Shape}");
        SameDevice(op, a, b);
    }

    public static void Shape(string op, Tensor t, Shape4 expected, string role)
    {
        if (t.Shape != expected)
            throw new ArgumentException($"{op}: {role} '{t.Name}' has shape {t.Shape}, expected {expected}");
    }

    public static void SameDevice(string op, Tensor a, Tensor b)
    {
        if (!ReferenceEquals(a.Device, b.Device))
            throw new ArgumentException($"{op}: '{a.Name}' is on {a.Device} but '{b.Name}' is on {b.Device}");
    }

    public static void That(string op, bool condition, string message)
    {
        if (!condition) throw new ArgumentException($"{op}: {message}");
    }
}
