using System.Runtime.InteropServices;

namespace Allocator.Benchmarks.Competitors;

/// <summary>
/// Where a native competitor comes from and what its entry points are called. The library is loaded with
/// <see cref="NativeLibrary"/> (so it does not replace the process's malloc) and called through
/// <c>delegate* unmanaged[SuppressGCTransition]</c> pointers, the cheapest call a .NET user can make to it.
/// </summary>
/// <param name="Key">Short name on the command line and in tables.</param>
/// <param name="SoName">The soname Debian installs.</param>
/// <param name="AptPackage">The Debian package that brings it.</param>
/// <param name="Malloc">malloc-shaped export.</param>
/// <param name="Calloc">calloc-shaped export.</param>
/// <param name="Realloc">realloc-shaped export.</param>
/// <param name="Free">free-shaped export.</param>
/// <param name="Collect">Optional export taking one int (force) that returns free memory to the OS.</param>
public sealed record NativeLibraryInfo(
    string Key, string SoName, string AptPackage, string Malloc, string Calloc, string Realloc, string Free, string? Collect)
{
    /// <summary>Environment variable that overrides the library path (also used to simulate a missing one).</summary>
    public string OverrideVariable => "ALLOCATOR_BENCH_LIB_" + Key.ToUpperInvariant();

    /// <summary>The path or soname to load.</summary>
    public string Path => Environment.GetEnvironmentVariable(OverrideVariable) is { Length: > 0 } path ? path : SoName;

    /// <summary>The one line printed when the library cannot be loaded.</summary>
    public string MissingLine(string reason) =>
        $"{Key}: cannot load {Path} ({LastLine(reason)}); install it with: sudo apt-get install -y {AptPackage}  (skipping {Key})";

    // The runtime's message is several lines of advice; dlerror's own text is the last one.
    private static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? text;
}

/// <summary>The native competitors, and how to tell whether one can be loaded.</summary>
public static class NativeLibraries
{
    /// <summary>
    /// jemalloc uses initial-exec TLS, so dlopen-ing it fails with "cannot allocate memory in static TLS block"
    /// unless glibc reserves more static TLS at process start. Child processes get this in their environment.
    /// </summary>
    public const string TunablesVariable = "GLIBC_TUNABLES";

    /// <summary>The value of <see cref="TunablesVariable"/> that lets jemalloc load.</summary>
    public const string TunablesValue = "glibc.rtld.optional_static_tls=4000000";

    public static readonly NativeLibraryInfo Mimalloc =
        new("mimalloc", "libmimalloc.so.2", "libmimalloc2.0", "mi_malloc", "mi_calloc", "mi_realloc", "mi_free", "mi_collect");

    public static readonly NativeLibraryInfo Jemalloc =
        new("jemalloc", "libjemalloc.so.2", "libjemalloc2", "malloc", "calloc", "realloc", "free", null);

    public static readonly NativeLibraryInfo Tcmalloc =
        new("tcmalloc", "libtcmalloc_minimal.so.4", "libtcmalloc-minimal4", "tc_malloc", "tc_calloc", "tc_realloc", "tc_free",
            "MallocExtension_ReleaseFreeMemory");

    /// <summary>
    /// Whether <paramref name="library"/> can be used by a child process. A library that fails only for lack of
    /// static TLS is present: children start with <see cref="TunablesValue"/>. Returns the line to print otherwise.
    /// </summary>
    public static bool IsAvailable(NativeLibraryInfo library, out string? missingLine)
    {
        missingLine = null;
        if (TryLoad(library, out _, out string? error) || error.Contains("static TLS", StringComparison.Ordinal))
        {
            return true;
        }

        missingLine = library.MissingLine(error);
        return false;
    }

    /// <summary>Loads the library; on failure <paramref name="error"/> says why.</summary>
    public static bool TryLoad(NativeLibraryInfo library, out nint handle, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        try
        {
            handle = NativeLibrary.Load(library.Path);
            error = null;
            return true;
        }
        catch (DllNotFoundException e)
        {
            handle = 0;
            error = e.Message;
            return false;
        }
    }

    /// <summary>Sets the environment a process needs to load every competitor.</summary>
    public static void AddTunables(IDictionary<string, string?> environment)
    {
        string? existing = environment.TryGetValue(TunablesVariable, out string? value) ? value : null;
        environment[TunablesVariable] = string.IsNullOrEmpty(existing) ? TunablesValue : existing + ":" + TunablesValue;
    }
}

/// <summary>The entry points of one loaded native library, resolved once per process.</summary>
public sealed unsafe class LibraryFunctions
{
    public readonly delegate* unmanaged[SuppressGCTransition]<nuint, void*> Malloc;
    public readonly delegate* unmanaged[SuppressGCTransition]<nuint, nuint, void*> Calloc;
    public readonly delegate* unmanaged[SuppressGCTransition]<void*, nuint, void*> Realloc;
    public readonly delegate* unmanaged[SuppressGCTransition]<void*, void> Free;

    // Not SuppressGCTransition: a collect may take long and is never on a hot path.
    private readonly delegate* unmanaged<int, void> _collect;

    /// <summary>Loads <paramref name="library"/> and resolves its exports; throws when it cannot be loaded.</summary>
    public LibraryFunctions(NativeLibraryInfo library)
    {
        if (!NativeLibraries.TryLoad(library, out nint handle, out string? error))
        {
            throw new InvalidOperationException(library.MissingLine(error));
        }

        Malloc = (delegate* unmanaged[SuppressGCTransition]<nuint, void*>)NativeLibrary.GetExport(handle, library.Malloc);
        Calloc = (delegate* unmanaged[SuppressGCTransition]<nuint, nuint, void*>)NativeLibrary.GetExport(handle, library.Calloc);
        Realloc = (delegate* unmanaged[SuppressGCTransition]<void*, nuint, void*>)NativeLibrary.GetExport(handle, library.Realloc);
        Free = (delegate* unmanaged[SuppressGCTransition]<void*, void>)NativeLibrary.GetExport(handle, library.Free);
        if (library.Collect is not null && NativeLibrary.TryGetExport(handle, library.Collect, out nint collect))
        {
            _collect = (delegate* unmanaged<int, void>)collect;
        }
    }

    /// <summary>Calls the library's collect export with force = 1, if it has one.</summary>
    public bool TryCollect()
    {
        if (_collect is null)
        {
            return false;
        }

        _collect(1);
        return true;
    }
}
