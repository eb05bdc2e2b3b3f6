using System.Reflection;
using System.Runtime.CompilerServices;

namespace Allocator.Diagnostics;

/// <summary>
/// Creates the <c>Allocator</c> meter (<see cref="AllocatorMetrics"/>) only once a metrics listener can exist.
/// Creating it loads System.Diagnostics.DiagnosticSource and compiles twelve instruments, about 2 MiB of resident
/// memory in a small process, measured; every listener (a <c>MeterListener</c>, OpenTelemetry, the runtime's
/// metrics event source that <c>dotnet-counters</c> enables) lives in that assembly, so the meter is created when
/// the assembly is loaded, or at start-up when it already is. Instruments created after a listener started are
/// published to it, so nothing is missed.
/// </summary>
/// <remarks>This class names no type of DiagnosticSource, so loading it does not load that assembly.</remarks>
internal static class MetricsActivation
{
    private const string DiagnosticSourceName = "System.Diagnostics.DiagnosticSource";

    // 1 once the meter was created (or is being created); the event handler is removed then.
    private static int s_created;

    /// <summary>Bad pointers and double frees caught so far (kept here so that counting one does not create the meter).</summary>
    internal static long s_badFrees;

    /// <summary>Called at allocator start-up: create the meter now if a listener can exist, else when one can.</summary>
    public static void Arm()
    {
        // Subscribe first, then look: an assembly loaded between the two is seen by one of them (or both; Create runs once).
        AppDomain.CurrentDomain.AssemblyLoad += OnAssemblyLoad;
        foreach (Assembly assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (IsDiagnosticSource(assembly))
            {
                Create();
                return;
            }
        }
    }

    private static void OnAssemblyLoad(object? sender, AssemblyLoadEventArgs e)
    {
        if (IsDiagnosticSource(e.LoadedAssembly))
        {
            Create();
        }
    }

    private static bool IsDiagnosticSource(Assembly assembly) => assembly.GetName().Name == DiagnosticSourceName;

    private static void Create()
    {
        if (Interlocked.Exchange(ref s_created, 1) != 0)
        {
            return;
        }

        AppDomain.CurrentDomain.AssemblyLoad -= OnAssemblyLoad;
        CreateMeter();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CreateMeter() => AllocatorMetrics.EnsureCreated();
}
