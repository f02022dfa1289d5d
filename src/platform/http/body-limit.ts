/**
 * Largest accepted request body. The app's body parser enforces it and the SCIM ServiceProviderConfig
 * advertises it as `bulk.maxPayloadSize`, so both read it from here.
 */
export const MAX_BODY_BYTES = 1_048_576;
