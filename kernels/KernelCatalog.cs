// Every kernel of this library with the generic instantiations the engine launches: the list the
// PTX compile test walks, so a kernel that cannot compile for CUDA is caught on any machine.
using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;

namespace IlgpuStyle.Kernels;

public static class KernelCatalog
{
    /// <summary>The operand triples of every GEMM the engine runs: conv forward, input grad, weight grad, Gram forward, Gram backward.</summary>
    public static readonly Type[][] GemmInstantiations =
    {
        new[] { typeof(ConvWeightsOperand), typeof(Im2ColOperand), typeof(ConvForwardOutput) },
        new[] { typeof(ConvWeightsTransposedOperand), typeof(OutputGradientColumnsOperand), typeof(AccumulateOutput) },
        new[] { typeof(OutputGradientRowsOperand), typeof(Im2ColTransposedOperand), typeof(AccumulateOutput) },
        new[] { typeof(FeatureRowsOperand), typeof(FeatureColumnsOperand), typeof(OverwriteOutput) },
        new[] { typeof(SymmetricGramGradientOperand), typeof(FeatureOperand), typeof(AccumulateOutput) },
    };

    public static readonly Type[] SumTerms =
    {
        typeof(DotTerm), typeof(AbsTerm),
        typeof(SquaredDifferenceTerm), typeof(TotalVariationTerm), typeof(NonFiniteTerm),
    };

    public static readonly Type[] MaxTerms = { typeof(AbsTerm) };

    /// <summary>(kernel name, closed method, explicitly grouped?) for every kernel.</summary>
    public static List<(string Name, MethodInfo Method, bool ExplicitlyGrouped)> All()
    {
        var result = new List<(string, MethodInfo, bool)>();
        var methods = typeof(KernelCatalog).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.GetCustomAttribute<KernelNameAttribute>() is not null);
        foreach (var m in methods)
        {
            string name = m.GetCustomAttribute<KernelNameAttribute>()!.KernelName;
            bool grouped = m.GetParameters().Length == 0 || !IsIndex(m.GetParameters()[0].ParameterType);
            IEnumerable<Type[]> instantiations =
                !m.IsGenericMethodDefinition ? new[] { Type.EmptyTypes }
                : m.DeclaringType == typeof(Gemm) ? GemmInstantiations
                : m.Name == nameof(Reduce.MaxPartials) ? MaxTerms.Select(t => new[] { t })
                : SumTerms.Select(t => new[] { t });
            foreach (var types in instantiations)
            {
                var closed = types.Length == 0 ? m : m.MakeGenericMethod(types);
                string suffix = types.Length == 0 ? "" : "<" + string.Join(",", types.Select(t => t.Name)) + ">";
                result.Add((name + suffix, closed, grouped));
            }
        }
        return result;
    }

    static bool IsIndex(Type t) => t == typeof(Index1D) || t == typeof(Index2D) || t == typeof(Index3D);
}
