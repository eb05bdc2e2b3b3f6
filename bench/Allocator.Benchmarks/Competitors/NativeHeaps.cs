using System.Reflection;
using System.Runtime.InteropServices;

namespace Allocator.Benchmarks.Competitors;

/// <summary>This project's allocator, called directly.</summary>
public unsafe struct OursHeap : INativeHeap
{
    // Collect(bool) is looked up once by reflection so the bench also builds against the temporary stub, which
    // does not have it yet. After the real allocator is merged this can become a direct call.
    private static readonly Action<bool>? s_collect = typeof(NativeAllocator)
        .GetMethod("Collect", BindingFlags.Public | BindingFlags.Static, [typeof(bool)])
        ?.CreateDelegate<Action<bool>>();

    public static string Name => "ours";

    public static void* Alloc(nuint size) => NativeAllocator.Alloc(size);

    public static void* AllocZeroed(nuint size) => NativeAllocator.AllocZeroed(size);

    public static void* Realloc(void* block, nuint size) => NativeAllocator.Realloc(block, size);

    public static void Free(void* block) => NativeAllocator.Free(block);

    public static bool Collect()
    {
        s_collect?.Invoke(true);
        return s_collect is not null;
    }
}

/// <summary>glibc malloc through <see cref="NativeMemory"/>, the baseline every .NET user already has.</summary>
public unsafe struct NativeMemoryHeap : INativeHeap
{
    public static string Name => "glibc";

    public static void* Alloc(nuint size) => NativeMemory.Alloc(size);

    public static void* AllocZeroed(nuint size) => NativeMemory.AllocZeroed(size);

    public static void* Realloc(void* block, nuint size) => NativeMemory.Realloc(block, size);

    public static void Free(void* block) => NativeMemory.Free(block);

    public static bool Collect() => MallocTrim(0) >= 0;

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}

/// <summary>Native mimalloc from Debian's libmimalloc2.0.</summary>
public unsafe struct MimallocHeap : INativeHeap
{
    public static string Name => "mimalloc";

    public static void* Alloc(nuint size) => LibraryFunctions.Mimalloc.Malloc(size);

    public static void* AllocZeroed(nuint size) => LibraryFunctions.Mimalloc.Calloc(1, size);

    public static void* Realloc(void* block, nuint size) => LibraryFunctions.Mimalloc.Realloc(block, size);

    public static void Free(void* block) => LibraryFunctions.Mimalloc.Free(block);

    public static bool Collect() => LibraryFunctions.Mimalloc.TryCollect();
}

/// <summary>Native jemalloc from Debian's libjemalloc2.</summary>
public unsafe struct JemallocHeap : INativeHeap
{
    public static string Name => "jemalloc";

    public static void* Alloc(nuint size) => LibraryFunctions.Jemalloc.Malloc(size);

    public static void* AllocZeroed(nuint size) => LibraryFunctions.Jemalloc.Calloc(1, size);

    public static void* Realloc(void* block, nuint size) => LibraryFunctions.Jemalloc.Realloc(block, size);

    public static void Free(void* block) => LibraryFunctions.Jemalloc.Free(block);

    public static bool Collect() => LibraryFunctions.Jemalloc.TryCollect();
}

/// <summary>Native tcmalloc from Debian's libtcmalloc-minimal4.</summary>
public unsafe struct TcmallocHeap : INativeHeap
{
    public static string Name => "tcmalloc";

    public static void* Alloc(nuint size) => LibraryFunctions.Tcmalloc.Malloc(size);

    public static void* AllocZeroed(nuint size) => LibraryFunctions.Tcmalloc.Calloc(1, size);

    public static void* Realloc(void* block, nuint size) => LibraryFunctions.Tcmalloc.Realloc(block, size);

    public static void Free(void* block) => LibraryFunctions.Tcmalloc.Free(block);

    public static bool Collect() => LibraryFunctions.Tcmalloc.TryCollect();
}
