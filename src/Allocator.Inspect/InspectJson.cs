using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Allocator.Inspect;

/// <summary>The reports' JSON shape, generated at build time (no reflection: trim- and AOT-friendly).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(HeapReport))]
[JsonSerializable(typeof(OwnersReport))]
[JsonSerializable(typeof(MapsReport))]
internal sealed partial class InspectJson : JsonSerializerContext
{
    private static InspectJson? s_output;

    /// <summary>The context the commands write with: type names keep their &lt; and &gt; (the output is for scripts, not HTML).</summary>
    public static InspectJson Output => s_output ??= CreateOutput();

    private static InspectJson CreateOutput()
    {
        InspectJson generated = Default;
        return new InspectJson(new JsonSerializerOptions(generated.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }
}
