using System.Runtime.InteropServices;

namespace Allocator.Platform;

/// <summary>
/// What the allocator asks the OS about the calling thread: the address range of its stack, and a hook that
/// overwrites one 32-bit word when the thread exits.
/// </summary>
/// <remarks>
/// The exit hook is a pthread key whose destructor is the C library's own <c>pthread_spin_unlock</c>: a function
/// that takes one pointer and stores a small constant (1 in glibc on x86-64, 0 elsewhere) into the 32-bit word it
/// points to, and does nothing else. glibc and musl run key destructors while the exiting thread still owns its
/// stack, so the word is overwritten before the stack can be handed to another thread. No native code of ours is
/// involved, and no managed code runs at thread exit.
/// </remarks>
internal static unsafe class OsThread
{
    // The exit key, or uint.MaxValue when it could not be created (then exit hooks are unavailable).
    private static readonly uint s_exitKey = CreateExitKey();

    /// <summary>True when <see cref="ArmExitHook"/> works in this process.</summary>
    public static bool ExitHookAvailable => s_exitKey != uint.MaxValue;

    /// <summary>
    /// The calling thread's stack as [low, low + size), or false when the C library cannot say. For the process's
    /// main thread, whose stack grows on demand, the range is cut to start at most 256 KiB below the caller's
    /// frame: the kernel keeps a gap of at least 1 MiB below a growing stack free of other mappings, so that part
    /// belongs to this thread for as long as it lives. Deeper frames are simply outside the range.
    /// </summary>
    public static bool TryGetCurrentStack(out nuint low, out nuint size)
    {
        low = 0;
        size = 0;
        byte* attr = stackalloc byte[128]; // pthread_attr_t is 56 bytes on x86-64 and 64 on arm64
        if (Libc.pthread_getattr_np(Libc.pthread_self(), attr) != 0)
        {
            return false;
        }

        void* address;
        nuint length;
        int result = Libc.pthread_attr_getstack(attr, &address, &length);
        Libc.pthread_attr_destroy(attr);
        if (result != 0 || length == 0)
        {
            return false;
        }

        nuint high = (nuint)address + length;
        nuint start = (nuint)address;
        if (IsMainThread())
        {
            nuint here = (nuint)(&attr) & ~(nuint)4095;
            nuint floor = here - 256 * 1024;
            if (floor > start)
            {
                start = floor;
            }
        }

        if (start >= high)
        {
            return false;
        }

        low = start;
        size = high - start;
        return true;
    }

    /// <summary>True on the process's initial thread, whose thread id is the process id; gettid is in glibc from 2.30.</summary>
    private static bool IsMainThread()
    {
        try
        {
            return Libc.gettid() == Libc.getpid();
        }
        catch (EntryPointNotFoundException)
        {
            return Environment.CurrentManagedThreadId == 1; // an older C library: the runtime's first thread
        }
    }

    /// <summary>
    /// Makes the calling thread's exit store a constant below 16 into the 32-bit word at <paramref name="word"/>.
    /// The word must stay mapped for the life of the process. Calling it again on the same thread replaces the
    /// previous word. False when the hook is unavailable.
    /// </summary>
    public static bool ArmExitHook(uint* word) =>
        ExitHookAvailable && Libc.pthread_setspecific(s_exitKey, word) == 0;

    private static uint CreateExitKey()
    {
        if (!BitConverter.IsLittleEndian)
        {
            return uint.MaxValue;
        }

        if (!NativeLibrary.TryLoad("libc.so.6", out nint libc) && !NativeLibrary.TryLoad("libc", out libc))
        {
            return uint.MaxValue;
        }

        if (!NativeLibrary.TryGetExport(libc, "pthread_spin_unlock", out nint store))
        {
            return uint.MaxValue;
        }

        uint key;
        return Libc.pthread_key_create(&key, store) == 0 ? key : uint.MaxValue;
    }
}
