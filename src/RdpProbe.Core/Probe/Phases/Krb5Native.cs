using System.Runtime.InteropServices;
using System.Text;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

/// <summary>The outcome of one library exchange: ok, or the KDC's error code (RFC 4120 §7.5.9) or a library error.</summary>
/// <param name="KdcError">The KDC's error number when the library's error is one of the KDC's (KRB5KDC_ERR_* / KRB5KRB_AP_ERR_*).</param>
/// <param name="LibraryCode">MIT's krb5_error_code (0 when ok).</param>
/// <param name="Message">MIT's message for it (krb5_get_error_message); never holds the password.</param>
internal sealed record Krb5Result(bool Ok, int? KdcError, int LibraryCode, string? Message, int? TicketEtype, int? SessionKeyEtype, double Ms);

/// <summary>
/// MIT Kerberos (Debian libkrb5-3) through its C API: the pre-authenticated AS exchange with the password
/// (krb5_get_init_creds_password) and the TGS exchange for a service principal (krb5_get_credentials) into a MEMORY
/// credential cache that dies with the call. All cryptography is the library's. The library reads a krb5.conf
/// written for this call through its profile API (profile_init_path + krb5_init_context_profile), so the process
/// environment (KRB5_CONFIG) is neither needed nor changed.
/// </summary>
internal static partial class Krb5Native
{
    private const string Library = "libkrb5.so.3";

    /// <summary>ERROR_TABLE_BASE_krb5 (MIT's com_err table "krb5"): KDC error n is reported as base + n.</summary>
    private const int ErrorTableBase = -1765328384;

    // krb5_creds on LP64 (krb5.h): magic@0, client@8, server@16, keyblock{magic@24, enctype@28, length@32, contents@40},
    // times@48, is_skey@64, ticket_flags@68, addresses@72, ticket{magic@80, length@84, data@88}, second_ticket@96,
    // authdata@112: 120 bytes; a larger zeroed block leaves room.
    private const int CredsSize = 256;
    private const int CredsClientOffset = 8, CredsServerOffset = 16, CredsKeyblockEnctypeOffset = 28, CredsTicketOffset = 80;

    /// <summary>Is libkrb5.so.3 loadable here?</summary>
    public static bool Available()
    {
        try
        {
            return NativeLibrary.TryLoad(Library, out var handle) && handle != IntPtr.Zero;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            return false;
        }
    }

    /// <summary>The KDC error number of an MIT error code, when it is one (0..127 above the table base).</summary>
    public static int? KdcErrorOf(int code) => code - ErrorTableBase is >= 0 and <= 127 ? code - ErrorTableBase : null;

    /// <summary>Reads the values of one relation (e.g. ["realms", "EXAMPLE.COM", "kdc"]) from krb5.conf files (colon-separated).</summary>
    public static IReadOnlyList<string> ProfileValues(string path, params string[] names)
    {
        if (profile_init_path(path, out var profile) != 0)
        {
            return [];
        }

        var pointers = new IntPtr[names.Length + 1];
        try
        {
            for (int i = 0; i < names.Length; i++)
            {
                pointers[i] = Marshal.StringToCoTaskMemUTF8(names[i]);
            }

            var handle = GCHandle.Alloc(pointers, GCHandleType.Pinned);
            try
            {
                if (profile_get_values(profile, handle.AddrOfPinnedObject(), out var list) != 0 || list == IntPtr.Zero)
                {
                    return [];
                }

                var values = new List<string>();
                for (int i = 0; i < 256; i++)
                {
                    var item = Marshal.ReadIntPtr(list, i * IntPtr.Size);
                    if (item == IntPtr.Zero)
                    {
                        break;
                    }

                    values.Add(Marshal.PtrToStringUTF8(item) ?? string.Empty);
                }

                profile_free_list(list);
                return values;
            }
            finally
            {
                handle.Free();
            }
        }
        finally
        {
            foreach (var p in pointers)
            {
                if (p != IntPtr.Zero)
                {
                    Marshal.FreeCoTaskMem(p);
                }
            }

            profile_release(profile);
        }
    }

    /// <summary>
    /// AS exchange with the password, then (when it succeeded and <paramref name="service"/> is given) the TGS exchange
    /// for it, with the krb5.conf at <paramref name="configPath"/>. Blocking: the caller runs it off the phase's thread.
    /// </summary>
    public static (Krb5Result As, Krb5Result? Tgs) GetTickets(string configPath, string client, string password, string? service)
    {
        if (profile_init_path(configPath, out var profile) != 0)
        {
            return (new Krb5Result(false, null, -1, "could not read the generated krb5.conf", null, null, 0), null);
        }

        IntPtr context;
        try
        {
            int init = krb5_init_context_profile(profile, 0, out context);
            if (init != 0)
            {
                return (new Krb5Result(false, null, init, "krb5_init_context_profile failed", null, null, 0), null);
            }
        }
        finally
        {
            profile_release(profile);
        }

        IntPtr cache = IntPtr.Zero, clientPrincipal = IntPtr.Zero, options = IntPtr.Zero, secret = IntPtr.Zero;
        IntPtr creds = Marshal.AllocHGlobal(CredsSize);
        bool haveCreds = false;
        byte[] passwordBytes = Encoding.UTF8.GetBytes(password);
        try
        {
            unsafe
            {
                new Span<byte>((void*)creds, CredsSize).Clear();
            }

            Check(context, krb5_cc_new_unique(context, "MEMORY", null, out cache));
            Check(context, krb5_parse_name(context, client, out clientPrincipal));
            Check(context, krb5_get_init_creds_opt_alloc(context, out options));
            Check(context, krb5_get_init_creds_opt_set_out_ccache(context, options, cache));
            secret = Marshal.AllocHGlobal(passwordBytes.Length + 1);
            Marshal.Copy(passwordBytes, 0, secret, passwordBytes.Length);
            Marshal.WriteByte(secret, passwordBytes.Length, 0);

            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            int code = krb5_get_init_creds_password(context, creds, clientPrincipal, secret, IntPtr.Zero, IntPtr.Zero, 0, IntPtr.Zero, options);
            double asMs = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (code != 0)
            {
                return (Failure(context, code, asMs), null);
            }

            haveCreds = true;
            var asResult = new Krb5Result(true, null, 0, null, TicketEtype(creds), Marshal.ReadInt32(creds, CredsKeyblockEnctypeOffset), asMs);
            if (service is null)
            {
                return (asResult, null);
            }

            return (asResult, ServiceTicket(context, cache, clientPrincipal, service));
        }
        catch (Krb5Exception e)
        {
            return (new Krb5Result(false, KdcErrorOf(e.Code), e.Code, e.Message, null, null, 0), null);
        }
        finally
        {
            if (secret != IntPtr.Zero)
            {
                unsafe
                {
                    new Span<byte>((void*)secret, passwordBytes.Length + 1).Clear();
                }

                Marshal.FreeHGlobal(secret);
            }

            Array.Clear(passwordBytes);
            if (haveCreds)
            {
                krb5_free_cred_contents(context, creds);
            }

            Marshal.FreeHGlobal(creds);
            if (options != IntPtr.Zero)
            {
                krb5_get_init_creds_opt_free(context, options);
            }

            if (clientPrincipal != IntPtr.Zero)
            {
                krb5_free_principal(context, clientPrincipal);
            }

            if (cache != IntPtr.Zero)
            {
                krb5_cc_destroy(context, cache);
            }

            krb5_free_context(context);
        }
    }

    private static Krb5Result ServiceTicket(IntPtr context, IntPtr cache, IntPtr clientPrincipal, string service)
    {
        IntPtr serverPrincipal = IntPtr.Zero, outCreds = IntPtr.Zero;
        IntPtr inCreds = Marshal.AllocHGlobal(CredsSize);
        try
        {
            unsafe
            {
                new Span<byte>((void*)inCreds, CredsSize).Clear();
            }

            int parse = krb5_parse_name(context, service, out serverPrincipal);
            if (parse != 0)
            {
                return Failure(context, parse, 0);
            }

            Marshal.WriteIntPtr(inCreds, CredsClientOffset, clientPrincipal);
            Marshal.WriteIntPtr(inCreds, CredsServerOffset, serverPrincipal);
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            int code = krb5_get_credentials(context, 0, cache, inCreds, out outCreds);
            double ms = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (code != 0)
            {
                return Failure(context, code, ms);
            }

            return new Krb5Result(true, null, 0, null, TicketEtype(outCreds), Marshal.ReadInt32(outCreds, CredsKeyblockEnctypeOffset), ms);
        }
        finally
        {
            if (outCreds != IntPtr.Zero)
            {
                krb5_free_creds(context, outCreds);
            }

            if (serverPrincipal != IntPtr.Zero)
            {
                krb5_free_principal(context, serverPrincipal);
            }

            Marshal.FreeHGlobal(inCreds);
        }
    }

    // krb5_creds.ticket is a krb5_data { magic, length, data }: the DER Ticket (RFC 4120 §5.3), read in clear.
    private static int? TicketEtype(IntPtr creds)
    {
        int length = Marshal.ReadInt32(creds, CredsTicketOffset + 4);
        var data = Marshal.ReadIntPtr(creds, CredsTicketOffset + 8);
        if (length <= 0 || length > Kerberos.MaxMessageLength || data == IntPtr.Zero)
        {
            return null;
        }

        byte[] ticket = new byte[length];
        Marshal.Copy(data, ticket, 0, length);
        return Kerberos.TryReadTicket(ticket, out int etype, out _, out _) == System.Buffers.OperationStatus.Done ? etype : null;
    }

    private static Krb5Result Failure(IntPtr context, int code, double ms)
        => new(false, KdcErrorOf(code), code, ErrorMessage(context, code), null, null, ms);

    private static void Check(IntPtr context, int code)
    {
        if (code != 0)
        {
            throw new Krb5Exception(code, ErrorMessage(context, code));
        }
    }

    private static string ErrorMessage(IntPtr context, int code)
    {
        var message = krb5_get_error_message(context, code);
        if (message == IntPtr.Zero)
        {
            return $"krb5 error {code}";
        }

        try
        {
            return Marshal.PtrToStringUTF8(message) ?? $"krb5 error {code}";
        }
        finally
        {
            krb5_free_error_message(context, message);
        }
    }

    private sealed class Krb5Exception(int code, string message) : Exception(message)
    {
        public int Code { get; } = code;
    }

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int profile_init_path(string path, out IntPtr profile);

    [LibraryImport(Library)]
    private static partial void profile_release(IntPtr profile);

    [LibraryImport(Library)]
    private static partial int profile_get_values(IntPtr profile, IntPtr names, out IntPtr values);

    [LibraryImport(Library)]
    private static partial void profile_free_list(IntPtr list);

    [LibraryImport(Library)]
    private static partial int krb5_init_context_profile(IntPtr profile, int flags, out IntPtr context);

    [LibraryImport(Library)]
    private static partial void krb5_free_context(IntPtr context);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int krb5_cc_new_unique(IntPtr context, string type, string? hint, out IntPtr cache);

    [LibraryImport(Library)]
    private static partial int krb5_cc_destroy(IntPtr context, IntPtr cache);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int krb5_parse_name(IntPtr context, string name, out IntPtr principal);

    [LibraryImport(Library)]
    private static partial void krb5_free_principal(IntPtr context, IntPtr principal);

    [LibraryImport(Library)]
    private static partial int krb5_get_init_creds_opt_alloc(IntPtr context, out IntPtr options);

    [LibraryImport(Library)]
    private static partial void krb5_get_init_creds_opt_free(IntPtr context, IntPtr options);

    [LibraryImport(Library)]
    private static partial int krb5_get_init_creds_opt_set_out_ccache(IntPtr context, IntPtr options, IntPtr cache);

    [LibraryImport(Library)]
    private static partial int krb5_get_init_creds_password(IntPtr context, IntPtr creds, IntPtr client, IntPtr password,
        IntPtr prompter, IntPtr data, int startTime, IntPtr inTicketService, IntPtr options);

    [LibraryImport(Library)]
    private static partial void krb5_free_cred_contents(IntPtr context, IntPtr creds);

    [LibraryImport(Library)]
    private static partial int krb5_get_credentials(IntPtr context, int options, IntPtr cache, IntPtr inCreds, out IntPtr outCreds);

    [LibraryImport(Library)]
    private static partial void krb5_free_creds(IntPtr context, IntPtr creds);

    [LibraryImport(Library)]
    private static partial IntPtr krb5_get_error_message(IntPtr context, int code);

    [LibraryImport(Library)]
    private static partial void krb5_free_error_message(IntPtr context, IntPtr message);
}
