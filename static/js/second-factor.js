// The second-factor page: a passkey just added is listed at once (django-otp-webauthn's
// register script fires this event when the server has stored it).
document.addEventListener("otp_webauthn.register_complete", () => window.location.reload());
