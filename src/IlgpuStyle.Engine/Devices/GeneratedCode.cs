using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.IR.Types;
using ILGPU.Runtime.OpenCL;

namespace IlgpuStyle.Devices;

/// <summary>
/// ILGPU's generated OpenCL C, kept between runs. ILGPU generates every kernel's code again in each process (on PoCL 5–6 s
/// of every start, the five largest kernels 1–1.7 s each), then the OpenCL driver builds it (PoCL from its own cache). Here
/// the code a run generated is written to <see cref="Folder"/>, one file per kernel, and the next run of the same build
/// puts it back into the accelerator's cache of generated kernels before loading, so that ILGPU's own loader finds it and
/// only builds it: the same source, entry point and launcher as a kernel generated now. The entry point is made again from
/// the kernel's signature (as ILGPU's OpenCL backend makes it) with the shared memory the code declared.
///
/// The cache ILGPU keeps is private to it: reached by reflection, checked once (<see cref="Available"/>), so that another
/// ILGPU version only turns this off. Files are per build (ILGPU's version, this engine's and the kernels' builds) and
/// per device; folders of other builds not used for <see cref="KeepDays"/> days are removed. Off where
/// ILGPUSTYLE_KERNEL_CACHE=0, and for kernels loaded with a fixed group size (another entry than <see cref="EntryOf"/>'s).
/// </summary>
public static class GeneratedCode
{
    /// <summary>Where the files live: one folder per build.</summary>
    public static string Folder => IO.CacheFiles.PathOf("opencl-c");

    /// <summary>Folders of other builds untouched for this long are removed.</summary>
    public const int KeepDays = 14;

    const BindingFlags Private = BindingFlags.NonPublic | BindingFlags.Instance;
    static readonly FieldInfo? SyncRoot = typeof(Accelerator).GetField("syncRoot", Private);
    static readonly FieldInfo? Cache = typeof(Accelerator).GetField("compiledKernelCache", Private);
    static readonly Type? KeyType = typeof(Accelerator).GetNestedType("CachedCompiledKernelKey", BindingFlags.NonPublic);
    static readonly ConstructorInfo? KeyConstructor = KeyType?.GetConstructor(Private | BindingFlags.Public, new[] { typeof(EntryPointDescription), typeof(KernelSpecialization) });
    static readonly PropertyInfo? TypeContext = typeof(Context).GetProperty("TypeContext", Private);
    static readonly PropertyInfo? EntryPointOf = typeof(CompiledKernel).GetProperty("EntryPoint", Private | BindingFlags.Public);

    /// <summary>Whether this ILGPU has the cache this reaches into, in the form expected.</summary>
    public static readonly bool Available = SyncRoot is not null && Cache is not null && KeyConstructor is not null && TypeContext is not null
        && EntryPointOf?.PropertyType == typeof(EntryPoint)
        && typeof(TypeInformationManager).IsAssignableFrom(TypeContext.PropertyType)
        && Cache.FieldType.IsGenericType && Cache.FieldType.GetGenericArguments() is [var k, var v] && k == KeyType && v == typeof(WeakReference<CompiledKernel>);

    static bool Enabled(Accelerator a) => Available && a is CLAccelerator && Environment.GetEnvironmentVariable("ILGPUSTYLE_KERNEL_CACHE") != "0";

    /// <summary>What a file holds: the code, its C version and the shared memory it declares.</summary>
    sealed record Saved(string Source, int CMajor, int CMinor, int SharedStatic, bool SharedDynamic);

    /// <summary>
    /// Loads a kernel through `load` (ILGPU's loader), with its generated code put back first where a file has it, and
    /// written after where none did (a file whose code does not build is removed, and the kernel generated). `plain`: loaded by ILGPU's auto-grouped or explicitly grouped loader without
    /// specialization (the only entries this knows how to make).
    /// </summary>
    public static T Load<T>(Accelerator accelerator, MethodInfo kernel, bool plain, Func<T> load)
    {
        if (!plain || !Enabled(accelerator)) return load();
        var entry = EntryOf(kernel);
        string path = PathOf(accelerator, kernel, entry);
        var restored = TryRestore(accelerator, entry, path);
        T launcher;
        try { launcher = load(); }
        catch (Exception) when (restored is not null)
        {
            // The file's code did not build (a damaged file): forgotten, and generated again.
            Forget(accelerator, entry);
            try { File.Delete(path); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            restored = null;
            launcher = load();
        }
        if (restored is null) TryKeep(accelerator, entry, path);
        GC.KeepAlive(restored);   // ILGPU's cache holds it weakly: alive until the load took it
        return launcher;
    }

    /// <summary>The entry ILGPU's loaders make for a kernel: implicitly grouped where its first parameter is an index
    /// (LoadAutoGroupedStreamKernel), else explicitly grouped (LoadStreamKernel); no specialization.</summary>
    public static EntryPointDescription EntryOf(MethodInfo kernel)
    {
        var first = kernel.GetParameters().FirstOrDefault()?.ParameterType;
        return first == typeof(Index1D) || first == typeof(Index2D) || first == typeof(Index3D)
            ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel)
            : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
    }

    /// <summary>The build's folder: ILGPU's version, the engine's build (its kernel helpers and fused math) and the
    /// optimization level; the device's name and OpenCL C version.</summary>
    static string BuildFolder(Accelerator a)
    {
        var cl = (CLAccelerator)a;
        string build = $"{typeof(Accelerator).Assembly.FullName}|{typeof(GeneratedCode).Assembly.ManifestModule.ModuleVersionId}|" +
                       $"{a.Context.Properties.OptimizationLevel}|{cl.Name}|{cl.Vendor}|{cl.CVersion}";
        return Path.Combine(Folder, Hash(build)[..16]);
    }

    static string PathOf(Accelerator a, MethodInfo kernel, EntryPointDescription entry)
    {
        string key = $"{kernel.Module.ModuleVersionId}|{kernel.MetadataToken}|{string.Join(",", kernel.IsGenericMethod ? kernel.GetGenericArguments().Select(t => t.AssemblyQualifiedName) : Array.Empty<string>())}|{entry.IndexType}";
        return Path.Combine(BuildFolder(a), $"{kernel.Name}-{Hash(key)[..16]}.json");
    }

    static string Hash(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();

    static object CacheKey(EntryPointDescription entry) => KeyConstructor!.Invoke(new object[] { entry, KernelSpecialization.Empty });

    /// <summary>Puts the file's code into the accelerator's cache under the entry's key; the kernel made, or null.</summary>
    static CompiledKernel? TryRestore(Accelerator a, EntryPointDescription entry, string path)
    {
        Saved? saved;
        try { saved = File.Exists(path) ? JsonSerializer.Deserialize<Saved>(File.ReadAllText(path)) : null; }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return null; }
        if (saved is null || string.IsNullOrEmpty(saved.Source)) return null;
        try
        {
            var types = (TypeInformationManager)TypeContext!.GetValue(a.Context)!;
            var entryPoint = new SeparateViewEntryPoint(entry, new SharedMemorySpecification(saved.SharedStatic, saved.SharedDynamic),
                KernelSpecialization.Empty, types, 2);   // 2: the fields of a view in ILGPU's OpenCL backend (pointer, length)
            var code = new CLCompiledKernel(a.Context, entryPoint, null, saved.Source, new CLCVersion(saved.CMajor, saved.CMinor));
            var key = CacheKey(entry);
            lock (SyncRoot!.GetValue(a)!)
            {
                if (Cache!.GetValue(a) is not System.Collections.IDictionary cache) return null;
                cache[key] = new WeakReference<CompiledKernel>(code);
            }
            TouchFolder(Path.GetDirectoryName(path)!);
            return code;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException or TargetInvocationException)
        {
            return null;   // ILGPU generates it as if there were no file
        }
    }

    static void Forget(Accelerator a, EntryPointDescription entry)
    {
        var key = CacheKey(entry);
        lock (SyncRoot!.GetValue(a)!)
            if (Cache!.GetValue(a) is System.Collections.IDictionary cache) cache.Remove(key);
    }

    /// <summary>Writes the code ILGPU generated for the entry (found in its cache) to the file.</summary>
    static void TryKeep(Accelerator a, EntryPointDescription entry, string path)
    {
        try
        {
            CLCompiledKernel? code = null;
            var key = CacheKey(entry);
            lock (SyncRoot!.GetValue(a)!)
            {
                if (Cache!.GetValue(a) is System.Collections.IDictionary cache && cache.Contains(key)
                    && cache[key] is WeakReference<CompiledKernel> weak && weak.TryGetTarget(out var target))
                    code = target as CLCompiledKernel;
            }
            if (code is null) return;
            var shared = ((EntryPoint)EntryPointOf!.GetValue(code)!).SharedMemory;
            var saved = new Saved(code.Source, code.CVersion.Major, code.CVersion.Minor, shared.StaticSize, shared.HasDynamicMemory);
            bool first = !Directory.Exists(Path.GetDirectoryName(path));
            IO.AtomicFile.WriteAllText(path, JsonSerializer.Serialize(saved));
            if (first) RemoveOldBuilds(Path.GetDirectoryName(path)!);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException) { /* a convenience */ }
    }

    static void TouchFolder(string folder)
    {
        try { Directory.SetLastWriteTimeUtc(folder, DateTime.UtcNow); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    static void RemoveOldBuilds(string keep)
    {
        foreach (var folder in Directory.EnumerateDirectories(Folder))
            if (!string.Equals(Path.GetFullPath(folder), Path.GetFullPath(keep), StringComparison.Ordinal)
                && Directory.GetLastWriteTimeUtc(folder) < DateTime.UtcNow.AddDays(-KeepDays))
            {
                try { Directory.Delete(folder, recursive: true); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
    }
}
