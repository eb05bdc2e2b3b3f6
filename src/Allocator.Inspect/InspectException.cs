namespace Allocator.Inspect;

/// <summary>
/// A failure the inspector explains in one line (no such process, not .NET, no Allocator library, no permission):
/// <see cref="Program"/> prints the message and exits with <see cref="ExitCode"/>, never with a stack trace.
/// </summary>
public sealed class InspectException : Exception
{
    /// <summary>Exit code: the process does not exist.</summary>
    public const int NoSuchProcess = 3;

    /// <summary>Exit code: the process is not a .NET process.</summary>
    public const int NotDotNet = 4;

    /// <summary>Exit code: a .NET process without the Allocator library loaded.</summary>
    public const int NoAllocator = 5;

    /// <summary>Exit code: this user may not attach to (or read) the process.</summary>
    public const int NoPermission = 6;

    /// <summary>Exit code: the allocator's state could not be read (a version mismatch, or memory changed while reading).</summary>
    public const int Unreadable = 7;

    /// <summary>Exit code: bad command line.</summary>
    public const int Usage = 2;

    /// <summary>Creates the failure.</summary>
    /// <param name="exitCode">One of the exit-code constants.</param>
    /// <param name="message">The one-line explanation.</param>
    /// <param name="inner">The exception that caused it, if any.</param>
    public InspectException(int exitCode, string message, Exception? inner = null)
        : base(message, inner)
    {
        ExitCode = exitCode;
    }

    /// <summary>The process exit code that goes with the failure.</summary>
    public int ExitCode { get; }
}
