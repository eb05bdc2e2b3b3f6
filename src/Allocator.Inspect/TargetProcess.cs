using System.Globalization;
using Microsoft.Diagnostics.Runtime;

namespace Allocator.Inspect;

/// <summary>
/// A live .NET process that uses the Allocator library, attached with ClrMD: its runtime, its GC heap, and reads
/// of its memory. The process is suspended (ptrace) from <see cref="Attach"/> to <see cref="Dispose"/>, so what is
/// read is one consistent moment; keep that span short.
/// </summary>
/// <remarks>
/// Every way attaching can fail becomes an <see cref="InspectException"/> with one line that says which: no such
/// process, no permission, not a .NET process, or a .NET process without the Allocator library.
/// </remarks>
internal sealed class TargetProcess : IDisposable
{
    /// <summary>The simple name of the library's assembly, as the target's module list shows it.</summary>
    public const string LibraryAssembly = "Allocator";

    private readonly DataTarget _target;

    private TargetProcess(int processId, string name, DataTarget target, ClrRuntime runtime, ClrModule library)
    {
        ProcessId = processId;
        Name = name;
        _target = target;
        Runtime = runtime;
        Library = library;
    }

    /// <summary>The process id.</summary>
    public int ProcessId { get; }

    /// <summary>The process's command name (from /proc/PID/comm).</summary>
    public string Name { get; }

    /// <summary>The target's runtime.</summary>
    public ClrRuntime Runtime { get; }

    /// <summary>The Allocator module loaded in the target.</summary>
    public ClrModule Library { get; }

    /// <summary>The app domain whose statics are read (the only one on .NET Core).</summary>
    public ClrAppDomain Domain => Runtime.AppDomains.Length > 0 ? Runtime.AppDomains[0] : Runtime.SystemDomain ?? throw new InspectException(InspectException.Unreadable, $"process {ProcessId}: its runtime has no app domain");

    /// <summary>Attaches to <paramref name="processId"/> and checks that it runs .NET with the Allocator library.</summary>
    /// <param name="processId">The process to inspect.</param>
    /// <returns>The attached process; dispose it to let the process run again.</returns>
    /// <exception cref="InspectException">The process cannot be inspected; the message says why.</exception>
    public static TargetProcess Attach(int processId)
    {
        string name = ProcessName(processId);
        if (processId == Environment.ProcessId)
        {
            throw new InspectException(InspectException.Usage, $"process {processId} is this inspector itself; pass another process's id");
        }

        DataTarget target;
        try
        {
            target = DataTarget.AttachToProcess(processId, suspend: true);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw Explain(processId, name, e);
        }

        try
        {
            if (target.ClrVersions.Length == 0)
            {
                throw new InspectException(InspectException.NotDotNet, $"process {processId} ({name}) is not a .NET process: no .NET runtime is loaded in it");
            }

            ClrRuntime runtime = CreateRuntime(target.ClrVersions[0]);
            ClrModule? library = runtime.EnumerateModules().FirstOrDefault(IsLibrary);
            if (library is null)
            {
                runtime.Dispose();
                throw new InspectException(InspectException.NoAllocator, $"process {processId} ({name}) is a .NET process, but the {LibraryAssembly} library is not loaded in it");
            }

            return new TargetProcess(processId, name, target, runtime, library);
        }
        catch (Exception e) when (e is not InspectException and not OutOfMemoryException)
        {
            target.Dispose();
            throw new InspectException(InspectException.Unreadable, $"process {processId} ({name}): could not read its .NET runtime: {OneLine(e.Message)}", e);
        }
        catch
        {
            target.Dispose();
            throw;
        }
    }

    /// <summary>The command name of a process; an <see cref="InspectException"/> when there is no such process.</summary>
    /// <param name="processId">Any process id.</param>
    /// <returns>The name, e.g. "dotnet" or "sleep".</returns>
    public static string ProcessName(int processId)
    {
        if (processId <= 0)
        {
            throw new InspectException(InspectException.Usage, $"'{processId}' is not a process id (a positive number)");
        }

        try
        {
            return File.ReadAllText($"/proc/{processId.ToString(CultureInfo.InvariantCulture)}/comm").Trim();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InspectException(InspectException.NoSuchProcess, $"no process with id {processId} exists");
        }
        catch (UnauthorizedAccessException)
        {
            return "?";
        }
    }

    /// <summary>The type <paramref name="name"/> of the Allocator library, or null when the target has not loaded it yet.</summary>
    /// <param name="name">A full type name, e.g. "Allocator.Heap.Arena".</param>
    /// <returns>The type, or null.</returns>
    public ClrType? LibraryType(string name) => Library.GetTypeByName(name);

    /// <summary>Reads <paramref name="buffer"/>.Length bytes at <paramref name="address"/>; false when any of them cannot be read.</summary>
    /// <param name="address">An address in the target.</param>
    /// <param name="buffer">Where the bytes go.</param>
    /// <returns>True when the whole range was read.</returns>
    public bool TryRead(ulong address, Span<byte> buffer) => _target.DataReader.Read(address, buffer) == buffer.Length;

    /// <summary>Reads an unmanaged value at <paramref name="address"/>.</summary>
    /// <typeparam name="T">An unmanaged type whose layout the target shares.</typeparam>
    /// <param name="address">An address in the target.</param>
    /// <returns>The value.</returns>
    /// <exception cref="InspectException">The memory cannot be read.</exception>
    public unsafe T Read<T>(ulong address)
        where T : unmanaged
    {
        T value = default;
        if (!TryRead(address, new Span<byte>(&value, sizeof(T))))
        {
            throw new InspectException(InspectException.Unreadable, $"process {ProcessId}: cannot read {sizeof(T)} bytes at 0x{address:x} (a {typeof(T).Name})");
        }

        return value;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Runtime.Dispose();
        _target.Dispose();
    }

    /// <summary>Collapses a message to one line.</summary>
    /// <param name="message">Any message.</param>
    /// <returns>The message without line breaks.</returns>
    public static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    /// <summary>
    /// The runtime, read with the DAC that ClrMD finds; failing that, with the DAC installed beside the target's own
    /// libcoreclr.so. ClrMD 4.2 reads the version of a .NET 10 runtime on Linux as 0.0 and then refuses every DAC as
    /// a mismatch, but the DAC shipped in the same runtime directory is the matching one by construction.
    /// </summary>
    private static ClrRuntime CreateRuntime(ClrInfo clr)
    {
        try
        {
            return clr.CreateRuntime();
        }
        catch (Exception e) when (e is not OutOfMemoryException && clr.ModuleInfo.FileName is string coreclr
            && clr.DebuggingLibraries.FirstOrDefault(l => l.Kind == DebugLibraryKind.Dac) is { FileName: string dacName }
            && File.Exists(Path.Combine(Path.GetDirectoryName(coreclr) ?? string.Empty, dacName)))
        {
            return clr.CreateRuntime(Path.Combine(Path.GetDirectoryName(coreclr)!, dacName), ignoreMismatch: true);
        }
    }

    private static bool IsLibrary(ClrModule module) =>
        string.Equals(Path.GetFileNameWithoutExtension(module.Name ?? module.AssemblyName ?? string.Empty), LibraryAssembly, StringComparison.Ordinal);

    /// <summary>Why attaching failed: the process went away, or this user may not trace it.</summary>
    private static InspectException Explain(int processId, string name, Exception e)
    {
        if (!Directory.Exists($"/proc/{processId.ToString(CultureInfo.InvariantCulture)}"))
        {
            return new InspectException(InspectException.NoSuchProcess, $"process {processId} exited before it could be inspected");
        }

        string text = OneLine(e.Message);
        bool denied = e is UnauthorizedAccessException
            || text.Contains("denied", StringComparison.OrdinalIgnoreCase)
            || text.Contains("not permitted", StringComparison.OrdinalIgnoreCase)
            || text.Contains("errno: 1", StringComparison.OrdinalIgnoreCase)
            || text.Contains("EPERM", StringComparison.Ordinal)
            || !CanReadMemory(processId);
        return denied
            ? new InspectException(InspectException.NoPermission, $"no permission to attach to process {processId} ({name}): run as its user or as root (ptrace is required); {text}", e)
            : new InspectException(InspectException.Unreadable, $"cannot attach to process {processId} ({name}): {text}", e);
    }

    /// <summary>Whether this user may read the process's memory (the same ptrace check the kernel makes for attaching).</summary>
    private static bool CanReadMemory(int processId)
    {
        try
        {
            using FileStream mem = File.OpenRead($"/proc/{processId.ToString(CultureInfo.InvariantCulture)}/mem");
            return true;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return false;
        }
    }
}
