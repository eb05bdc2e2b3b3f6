namespace Allocator.Mapping;

/// <summary>
/// Thrown by <see cref="ProcessMemoryMap.Read(int, bool)"/> when no process has the given id (its
/// <c>/proc/&lt;pid&gt;</c> directory does not exist, or the process exited while it was being read).
/// </summary>
public sealed class ProcessNotFoundException : Exception
{
    /// <summary>Creates the exception for <paramref name="processId"/>, whose <paramref name="file"/> could not be opened.</summary>
    /// <param name="processId">The id that names no process.</param>
    /// <param name="file">The procfs file that was missing.</param>
    /// <param name="innerException">The I/O exception that reported it.</param>
    public ProcessNotFoundException(int processId, string file, Exception? innerException)
        : base($"No process with id {processId}: {file} does not exist.", innerException)
    {
        ProcessId = processId;
    }

    /// <summary>The id that names no process.</summary>
    public int ProcessId { get; }
}
