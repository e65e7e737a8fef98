//! Authentication building blocks: the argon2 [`password`] pool, signed access tokens and
//! hashed refresh tokens ([`tokens`]), and login attempt [`limits`].

pub mod limits;
pub mod password;
pub mod tokens;
