using System.Runtime.InteropServices;

namespace Allocator.Platform;

/// <summary>
/// The only place in the library that declares calls into the C library. Every other file that
/// needs the OS goes through this class (or through <see cref="OsMemory"/>, which wraps it).
/// </summary>
/// <remarks>
/// Contract for callers, stated once:
/// <list type="bullet">
/// <item>Addresses and lengths passed to mmap/munmap/mprotect/madvise/msync/mremap are page-aligned where the kernel requires it.</item>
/// <item>Every call sets the last P/Invoke error, so <see cref="Marshal.GetLastPInvokeError"/> holds errno after a failure.</item>
/// <item>mmap failure is <see cref="MapFailed"/> (-1), never null; the other calls return 0 on success and -1 on failure.</item>
/// </list>
/// Constants are the Linux x86-64 / arm64 values (the generic Linux ABI); the project targets Linux only.
/// </remarks>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    // Protection bits (PROT_*).
    public const int PROT_NONE = 0x0;
    public const int PROT_READ = 0x1;
    public const int PROT_WRITE = 0x2;
    public const int PROT_EXEC = 0x4;

    // mmap flags (MAP_*).
    public const int MAP_SHARED = 0x01;
    public const int MAP_PRIVATE = 0x02;
    public const int MAP_FIXED = 0x10;
    public const int MAP_ANONYMOUS = 0x20;
    public const int MAP_NORESERVE = 0x4000;
    public const int MAP_FIXED_NOREPLACE = 0x100000;

    // madvise advice (MADV_*).
    public const int MADV_NORMAL = 0;
    public const int MADV_RANDOM = 1;
    public const int MADV_SEQUENTIAL = 2;
    public const int MADV_WILLNEED = 3;
    public const int MADV_DONTNEED = 4;
    public const int MADV_FREE = 8;
    public const int MADV_HUGEPAGE = 14;
    public const int MADV_NOHUGEPAGE = 15;

    // msync flags (MS_*).
    public const int MS_ASYNC = 1;
    public const int MS_INVALIDATE = 2;
    public const int MS_SYNC = 4;

    // mremap flags (MREMAP_*).
    public const int MREMAP_MAYMOVE = 1;
    public const int MREMAP_FIXED = 2;

    // prctl: naming anonymous memory (Linux 5.17+, CONFIG_ANON_VMA_NAME).
    public const int PR_SET_VMA = 0x53564d41;
    public const int PR_SET_VMA_ANON_NAME = 0;

    // fcntl: reading a descriptor's access mode (F_GETFL, O_ACCMODE).
    public const int F_GETFL = 3;
    public const int O_ACCMODE = 0x3;
    public const int O_RDONLY = 0x0;
    public const int O_WRONLY = 0x1;
    public const int O_RDWR = 0x2;

    // errno values used by the library.
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EFAULT = 14;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int ENFILE = 23;
    public const int EMFILE = 24;
    public const int ETXTBSY = 26;
    public const int EFBIG = 27;
    public const int EOVERFLOW = 75;

    /// <summary>The value mmap returns on failure: <c>(void*)-1</c>.</summary>
    public static readonly void* MapFailed = (void*)-1;

    [LibraryImport(Lib, EntryPoint = "mmap", SetLastError = true)]
    public static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Lib, EntryPoint = "munmap", SetLastError = true)]
    public static partial int munmap(void* addr, nuint length);

    [LibraryImport(Lib, EntryPoint = "mprotect", SetLastError = true)]
    public static partial int mprotect(void* addr, nuint length, int prot);

    [LibraryImport(Lib, EntryPoint = "madvise", SetLastError = true)]
    public static partial int madvise(void* addr, nuint length, int advice);

    [LibraryImport(Lib, EntryPoint = "msync", SetLastError = true)]
    public static partial int msync(void* addr, nuint length, int flags);

    /// <summary>mremap with no fixed new address (the variadic fifth argument is left out).</summary>
    [LibraryImport(Lib, EntryPoint = "mremap", SetLastError = true)]
    public static partial void* mremap(void* oldAddress, nuint oldSize, nuint newSize, int flags);

    /// <summary>mremap with <see cref="MREMAP_FIXED"/>: the fifth argument is the new address.</summary>
    [LibraryImport(Lib, EntryPoint = "mremap", SetLastError = true)]
    public static partial void* mremap(void* oldAddress, nuint oldSize, nuint newSize, int flags, void* newAddress);

    [LibraryImport(Lib, EntryPoint = "prctl", SetLastError = true)]
    public static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    /// <summary>fcntl with a command that takes no third argument (F_GETFL); the variadic part is left out.</summary>
    [LibraryImport(Lib, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int fcntl(int fd, int cmd);

    [LibraryImport(Lib, EntryPoint = "sysconf", SetLastError = true)]
    public static partial long sysconf(int name);

    public const int _SC_PAGESIZE = 30;

    [LibraryImport(Lib, EntryPoint = "strerror")]
    private static partial nint strerror(int errnum);

    [LibraryImport(Lib, EntryPoint = "getpid")]
    public static partial int getpid();

    [LibraryImport(Lib, EntryPoint = "gettid")]
    public static partial int gettid();

    [LibraryImport(Lib, EntryPoint = "pthread_self")]
    public static partial nuint pthread_self();

    /// <summary>Fills <paramref name="attr"/> (a pthread_attr_t, at most 64 bytes on Linux) with a thread's attributes; 0 on success.</summary>
    [LibraryImport(Lib, EntryPoint = "pthread_getattr_np")]
    public static partial int pthread_getattr_np(nuint thread, void* attr);

    [LibraryImport(Lib, EntryPoint = "pthread_attr_getstack")]
    public static partial int pthread_attr_getstack(void* attr, void** stackAddress, nuint* stackSize);

    [LibraryImport(Lib, EntryPoint = "pthread_attr_destroy")]
    public static partial int pthread_attr_destroy(void* attr);

    /// <summary>Creates a thread-specific key whose <paramref name="destructor"/> (a C function pointer taking the value) runs at thread exit.</summary>
    [LibraryImport(Lib, EntryPoint = "pthread_key_create")]
    public static partial int pthread_key_create(uint* key, nint destructor);

    [LibraryImport(Lib, EntryPoint = "pthread_setspecific")]
    public static partial int pthread_setspecific(uint key, void* value);

    /// <summary>The symbolic name of an errno value ("ENOMEM"), or "errno N" for one this table lacks.</summary>
    public static string ErrnoName(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        EBADF => "EBADF",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EFAULT => "EFAULT",
        EEXIST => "EEXIST",
        ENODEV => "ENODEV",
        EINVAL => "EINVAL",
        ENFILE => "ENFILE",
        EMFILE => "EMFILE",
        ETXTBSY => "ETXTBSY",
        EFBIG => "EFBIG",
        EOVERFLOW => "EOVERFLOW",
        _ => "errno " + errno.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The C library's description of an errno value ("Cannot allocate memory").</summary>
    public static string ErrnoText(int errno)
    {
        nint text = strerror(errno);
        return text == 0 ? "Unknown error" : Marshal.PtrToStringUTF8(text) ?? "Unknown error";
    }

    /// <summary>"mmap failed: ENOMEM (Cannot allocate memory)".</summary>
    public static string Describe(string call, int errno) => $"{call} failed: {ErrnoName(errno)} ({ErrnoText(errno)})";
}
