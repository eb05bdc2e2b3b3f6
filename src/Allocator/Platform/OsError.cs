using System.Runtime.InteropServices;

namespace Allocator.Platform;

/// <summary>
/// Turns an errno from a failed OS call into the .NET exception the library promises, with a message
/// that names the call and the errno: "mmap failed: ENOMEM (Cannot allocate memory)".
/// </summary>
/// <remarks>
/// ENOMEM → <see cref="OutOfMemoryException"/>; EACCES/EPERM → <see cref="UnauthorizedAccessException"/>;
/// EINVAL → <see cref="ArgumentException"/>; ENOENT → <see cref="FileNotFoundException"/>;
/// anything else → <see cref="IOException"/> carrying the errno as its HResult.
/// </remarks>
internal static class OsError
{
    /// <summary>The exception for <paramref name="call"/> failing with the current last P/Invoke error.</summary>
    public static Exception Last(string call) => FromErrno(call, Marshal.GetLastPInvokeError());

    /// <summary>The exception for <paramref name="call"/> failing with <paramref name="errno"/>.</summary>
    public static Exception FromErrno(string call, int errno, string? detail = null)
    {
        string message = Libc.Describe(call, errno);
        if (detail is not null)
        {
            message += ": " + detail;
        }

        return errno switch
        {
            Libc.ENOMEM => new OutOfMemoryException(message),
            Libc.EACCES or Libc.EPERM => new UnauthorizedAccessException(message),
            Libc.EINVAL => new ArgumentException(message),
            Libc.ENOENT => new FileNotFoundException(message),
            _ => new IOException(message, errno),
        };
    }
}
